package dev.sprig.nodeapi;

/**
 * The rebuild source of lc {@code lcId} on a node (decision 012): lc {@code sourceLcId} on the node
 * API at {@code endpoint}, which the node reads a segment's resolved bytes from before the first
 * live write that covers only part of a segment the lc does not hold yet. The token it reads with
 * is not answered back: it is another node's credential.
 */
public record RebuildSourceView(long lcId, String endpoint, long sourceLcId) {}
