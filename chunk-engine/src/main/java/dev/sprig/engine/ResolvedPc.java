package dev.sprig.engine;

import org.jspecify.annotations.Nullable;

/**
 * For one PC of a frozen lc: which lc of the chain supplies each segment (null: zeros) and that
 * segment's block CRCs. Frozen lcs never change, so this is computed once per (lc, PC) and shared:
 * an lc that owns nothing in a PC reuses its parent's instance. A read then costs one lookup
 * however deep the chain is.
 */
record ResolvedPc(@Nullable Lc[] owners, int[] @Nullable [] crcs) {

    static final ResolvedPc ALL_ZEROS =
            new ResolvedPc(new Lc[Layout.SEGMENTS_PER_PC], new int[Layout.SEGMENTS_PER_PC][]);
}
