package dev.sprig.node.engine;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * One lc in memory: its lineage, its sparse PC metadata and its data file ({@code lc-<id>.data},
 * PC i at offset i × 4 MiB, segment s at +s × 256 KiB, unwritten ranges left as holes).
 *
 * <p>Lineage fields change only under the engine's exclusive lock. {@code pending} holds, for each
 * segment changed since its last flush, the journal position of the record that marked it; a flush
 * removes entries under the segment's lock and names them in its flush record.
 */
final class Lc {

    final long id;
    final Path file;
    volatile @Nullable Lc parent;
    volatile long size;
    volatile boolean frozen;
    int children;

    final ConcurrentHashMap<Long, PcMeta> pcs = new ConcurrentHashMap<>(4);
    final ConcurrentHashMap<Long, Long> pending = new ConcurrentHashMap<>(4);
    final ReentrantLock flushLock = new ReentrantLock();
    private volatile @Nullable ConcurrentHashMap<Long, ResolvedPc> resolved;
    private volatile @Nullable FileChannel channel;

    Lc(long id, Path dir, @Nullable Lc parent, long size, boolean frozen) {
        this.id = id;
        this.file = dir.resolve(fileName(id));
        this.parent = parent;
        this.size = size;
        this.frozen = frozen;
    }

    static String fileName(long id) {
        return "lc-" + id + ".data";
    }

    static long segmentKey(long pcIndex, int segment) {
        return (pcIndex << 4) | segment;
    }

    PcMeta pcForWrite(long pcIndex) {
        return pcs.computeIfAbsent(pcIndex, k -> new PcMeta());
    }

    /** The data file, opened (and created) on first use and kept open. */
    FileChannel channel() throws IOException {
        FileChannel ch = channel;
        if (ch == null) {
            synchronized (this) {
                ch = channel;
                if (ch == null) {
                    ch = FileChannel.open(
                            file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
                    channel = ch;
                }
            }
        }
        return ch;
    }

    /** The data file if it was opened, without opening it. */
    @Nullable
    FileChannel openChannel() {
        return channel;
    }

    void close() throws IOException {
        FileChannel ch = channel;
        channel = null;
        if (ch != null) {
            ch.close();
        }
    }

    void closeAndDelete() throws IOException {
        close();
        Files.deleteIfExists(file);
    }

    /**
     * Resolves, for a frozen lc, which lc supplies each segment of a PC. Walks up the chain only to
     * the nearest ancestor that already has the PC resolved, then fills the cache downwards, so a
     * chain of depth d costs d steps once per PC and one lookup afterwards.
     */
    ResolvedPc resolved(long pcIndex) {
        ResolvedPc r = resolvedCache().get(pcIndex);
        if (r != null) {
            return r;
        }
        Deque<Lc> toResolve = new ArrayDeque<>();
        ResolvedPc above = ResolvedPc.ALL_ZEROS;
        for (Lc lc = this; lc != null; lc = lc.parent) {
            ResolvedPc cached = lc.resolvedCache().get(pcIndex);
            if (cached != null) {
                above = cached;
                break;
            }
            toResolve.push(lc);
        }
        while (!toResolve.isEmpty()) {
            Lc lc = toResolve.pop();
            above = lc.resolveOver(pcIndex, above);
        }
        return above;
    }

    private ResolvedPc resolveOver(long pcIndex, ResolvedPc above) {
        PcMeta meta = pcs.get(pcIndex);
        ResolvedPc mine = above;
        if (meta != null && meta.owned() != 0) {
            Lc[] owners = above.owners().clone();
            int[][] crcs = above.crcs().clone();
            for (int s = 0; s < Layout.SEGMENTS_PER_PC; s++) {
                byte state = meta.state(s);
                if (state == PcMeta.DATA) {
                    owners[s] = this;
                    crcs[s] = meta.crcs(s);
                } else if (state == PcMeta.ZERO) {
                    owners[s] = null;
                    crcs[s] = null;
                }
            }
            mine = new ResolvedPc(owners, crcs);
        }
        ResolvedPc raced = resolvedCache().putIfAbsent(pcIndex, mine);
        return raced != null ? raced : mine;
    }

    private ConcurrentHashMap<Long, ResolvedPc> resolvedCache() {
        ConcurrentHashMap<Long, ResolvedPc> r = resolved;
        if (r == null) {
            synchronized (this) {
                r = resolved;
                if (r == null) {
                    r = new ConcurrentHashMap<>();
                    resolved = r;
                }
            }
        }
        return r;
    }
}
