package dev.sprig.engine;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * The engine's cache of {@link ResolvedPc}s: for a frozen lc and a PC, which lc supplies each
 * segment. One cache for all lcs, bounded by entries, so that a node whose reads wander over many
 * snapshots and images holds at most {@link #DEFAULT_ENTRIES} of them rather than one per (frozen
 * lc, PC) ever read. Ancestors are frozen, so an entry is never stale: an evicted one is simply
 * resolved again.
 */
final class ResolvedPcs {

    /** About 100 bytes each (the entry; a resolved PC itself is shared down the chain). */
    static final long DEFAULT_ENTRIES = 1L << 20;

    private record Key(Lc lc, long pcIndex) {}

    private final Cache<Key, ResolvedPc> cache;

    ResolvedPcs(long maxEntries) {
        this.cache = Caffeine.newBuilder().maximumSize(maxEntries).build();
    }

    /**
     * Resolves, for a frozen lc, which lc supplies each segment of a PC. Walks up the chain only to
     * the nearest ancestor that already has the PC resolved, then fills the cache downwards, so a
     * chain of depth d costs d steps once per PC and one lookup afterwards.
     */
    ResolvedPc of(Lc frozen, long pcIndex) {
        ResolvedPc r = cache.getIfPresent(new Key(frozen, pcIndex));
        if (r != null) {
            return r;
        }
        Deque<Lc> toResolve = new ArrayDeque<>();
        ResolvedPc above = ResolvedPc.ALL_ZEROS;
        for (Lc lc = frozen; lc != null; lc = lc.parent) {
            ResolvedPc cached = lc == frozen ? null : cache.getIfPresent(new Key(lc, pcIndex));
            if (cached != null) {
                above = cached;
                break;
            }
            toResolve.push(lc);
        }
        while (!toResolve.isEmpty()) {
            Lc lc = toResolve.pop();
            above = resolveOver(lc, pcIndex, above);
        }
        return above;
    }

    /** Drops the entry of a frozen lc and a PC (after a fill changed what the lc holds there). */
    void invalidate(Lc frozen, long pcIndex) {
        cache.invalidate(new Key(frozen, pcIndex));
    }

    /** Entries held now, after pending evictions; for tests. */
    long size() {
        cache.cleanUp();
        return cache.estimatedSize();
    }

    private ResolvedPc resolveOver(Lc lc, long pcIndex, ResolvedPc above) {
        PcMeta meta = lc.pcs.get(pcIndex);
        ResolvedPc mine = above;
        if (meta != null && meta.owned() != 0) {
            Lc[] owners = above.owners().clone();
            int[][] crcs = above.crcs().clone();
            for (int s = 0; s < Layout.SEGMENTS_PER_PC; s++) {
                byte state = meta.state(s);
                if (state == PcMeta.DATA) {
                    owners[s] = lc;
                    crcs[s] = meta.crcs(s);
                } else if (state == PcMeta.ZERO) {
                    owners[s] = null;
                    crcs[s] = null;
                }
            }
            mine = new ResolvedPc(owners, crcs);
        }
        ResolvedPc raced = cache.asMap().putIfAbsent(new Key(lc, pcIndex), mine);
        return raced != null ? raced : mine;
    }
}
