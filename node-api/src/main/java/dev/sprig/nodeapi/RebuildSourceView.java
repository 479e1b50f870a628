package dev.sprig.nodeapi;

import org.jspecify.annotations.Nullable;

/**
 * The rebuild source of lc {@code lcId} on a node (decision 012): lc {@code sourceLcId} on the node
 * API at {@code endpoint}, which the node reads a segment's resolved bytes from before the first
 * live write that covers only part of a segment the lc does not hold yet. The token it reads with
 * is not answered back: it is another node's credential.
 *
 * <p>For an lc being caught up (its replica returned after missing writes): the column of the
 * catch-up ({@code catchUpColumn}, null for a plain rebuild), whether every segment it holds in that
 * column is still suspect ({@code pending}), how many are suspect, and how many live writes or
 * replacements made right ({@code cleaned}).
 */
public record RebuildSourceView(
        long lcId,
        String endpoint,
        long sourceLcId,
        @Nullable Integer catchUpColumn,
        boolean pending,
        long suspects,
        long cleaned) {}
