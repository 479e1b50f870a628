package dev.sprig.engine;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.jspecify.annotations.Nullable;

/**
 * What every part of one engine shares: its directory and configuration, the lcs, the engine lock
 * and whether the engine is closed, the segment locks, the resolved-PC cache and the counters. One
 * object, handed to each part, so that no part keeps a copy of state another changes.
 *
 * <p>The engine lock: reads and writes take it shared; lineage changes (create, freeze, delete,
 * grow, the end of flatten), a checkpoint's switch and close take it exclusively, which waits for
 * in-flight I/O.
 */
final class EngineState {

    /** The JDK's logger, so that the engine needs no logging library; Spring routes it to SLF4J. */
    static final System.Logger LOG = System.getLogger(ChunkEngine.class.getName());

    final Path dir;
    final EngineConfig config;
    final Durability durability;
    final ConcurrentHashMap<Long, Lc> lcs;
    final SegmentLocks stripes = new SegmentLocks();
    final ResolvedPcs resolvedPcs = new ResolvedPcs(ResolvedPcs.DEFAULT_ENTRIES);
    final LongAdder redirects = new LongAdder();
    final LongAdder flushes = new LongAdder();
    private final ReentrantReadWriteLock engineLock = new ReentrantReadWriteLock();
    /** Set under the exclusive lock; read under either. */
    private boolean closed;

    EngineState(Path dir, EngineConfig config, Durability durability, Map<Long, Lc> lcs) {
        this.dir = dir;
        this.config = config;
        this.durability = durability;
        this.lcs = new ConcurrentHashMap<>(lcs);
    }

    Lock shared() {
        return acquire(engineLock.readLock());
    }

    Lock exclusive() {
        return acquire(engineLock.writeLock());
    }

    /** The exclusive lock whether or not the engine is closed, for undoing and for closing. */
    Lock exclusiveEvenIfClosed() {
        Lock l = engineLock.writeLock();
        l.lock();
        return l;
    }

    /** Marks the engine closed, under the exclusive lock; false if it was closed already. */
    boolean markClosed() {
        if (closed) {
            return false;
        }
        closed = true;
        return true;
    }

    /** Takes the lock, or refuses once the engine is closed (checked under the lock, so close cannot race it). */
    private Lock acquire(Lock l) {
        l.lock();
        if (closed) {
            l.unlock();
            throw new EngineClosedException();
        }
        return l;
    }

    Lc lc(long lcId) {
        Lc lc = lcs.get(lcId);
        if (lc == null) {
            throw new UnknownLcException(lcId);
        }
        return lc;
    }

    Lc writable(long lcId, String operation) {
        Lc lc = lc(lcId);
        if (lc.frozen) {
            throw new FrozenLcException(lcId, operation);
        }
        return lc;
    }

    /** Throws unless {@code lc} is still this engine's (not deleted meanwhile). Under the engine lock. */
    void live(Lc lc) {
        if (lcs.get(lc.id) != lc) {
            throw new UnknownLcException(lc.id);
        }
    }

    static void checkRange(Lc lc, long offset, long length) {
        if (offset < 0 || length < 0 || offset > lc.size - length) {
            throw new OutOfRangeException(
                    "range [" + offset + ", +" + length + ") is outside lc " + lc.id + " of size " + lc.size);
        }
    }

    static void closeQuietly(@Nullable AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception ignored) {
            // best effort while already failing or shutting down; the original error wins
        }
    }
}
