package dev.sprig.client;

/**
 * One node of an {@link AttachmentView}.
 *
 * @param nbd {@code nbd://host:port/<dataToken>/<lcId>}
 */
public record AttachmentNode(String nodeId, String nbd) {}
