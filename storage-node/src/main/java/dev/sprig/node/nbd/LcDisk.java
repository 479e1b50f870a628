package dev.sprig.node.nbd;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.engine.CorruptionException;
import dev.sprig.engine.EngineClosedException;
import dev.sprig.engine.EngineException;
import dev.sprig.engine.Extent;
import dev.sprig.engine.FrozenLcException;
import dev.sprig.engine.NoSpaceException;
import dev.sprig.engine.OutOfRangeException;
import dev.sprig.engine.SegmentOrigin;
import dev.sprig.nbd.Nbd;
import dev.sprig.nbd.server.Extents;
import dev.sprig.nbd.server.NbdDisk;
import dev.sprig.node.metrics.DataPathMetrics;
import dev.sprig.node.metrics.DataPathMetrics.Op;
import dev.sprig.node.rebuild.LiveWrites;
import dev.sprig.node.rebuild.SourceUnreadableException;
import io.netty.buffer.ByteBuf;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One lc as an NBD export. Engine failures become the errors a client acts on: EPERM for a frozen
 * lc (the agent then learns the disk moved to a new lc), ENOSPC when the node's disk is full (the
 * write changed nothing and succeeds once space is freed), ESHUTDOWN while the engine closes, EIO
 * for the rest, including an engine gone read-only after a failed fsync (NBD has no EROFS), and a
 * corruption is counted and logged. A replicated data token's connection is held to its {@link
 * ReplicaScope} before every request reaches the engine. Writes go through {@link LiveWrites}, so
 * that a rebuilding lc gets what it lacks from its rebuild source first; a source that fails is EIO,
 * and the write changed nothing.
 */
final class LcDisk implements NbdDisk {

    private static final Logger log = LoggerFactory.getLogger(LcDisk.class);

    private final ChunkEngine engine;
    private final LiveWrites writes;
    private final long lcId;
    private final long sizeBytes;
    private final boolean readOnly;
    private final DataPathMetrics metrics;
    /** Null for a token of no replica set (the embedded backend, version-1 tokens): nothing is fenced. */
    private final @Nullable ReplicaScope scope;

    LcDisk(
            ChunkEngine engine,
            LiveWrites writes,
            long lcId,
            long sizeBytes,
            boolean readOnly,
            DataPathMetrics metrics,
            @Nullable ReplicaScope scope) {
        this.engine = engine;
        this.writes = writes;
        this.lcId = lcId;
        this.sizeBytes = sizeBytes;
        this.readOnly = readOnly;
        this.metrics = metrics;
        this.scope = scope;
    }

    @Override
    public long sizeBytes() {
        return sizeBytes;
    }

    @Override
    public boolean readOnly() {
        return readOnly;
    }

    /** The engine's reads come from the page cache (a mapping, for frozen lcs) unless memory is short. */
    @Override
    public boolean readsInline(int length) {
        return true;
    }

    /**
     * A rewrite of data the lc holds lands in the page cache (only FLUSH and FUA wait for the device,
     * and they stay on the workers); on the event loop a 4 KiB rewrite costs the node about half the
     * CPU, and a replicated write costs that on every member. A first write into a segment (a
     * redirect: the parent's 256 KiB read, merged, written to new pages) would hold up every
     * connection on the loop, as would any write of an lc being rebuilt, which may wait for its
     * rebuild source, and any rewrite while a whole segment goes into the lc's file with direct I/O
     * (ext4 holds the file's lock for that write's device time, and a buffered write waits for it):
     * those go to the workers.
     */
    @Override
    public boolean writesInline(long offset, int length) {
        return !writes.mayFetch(lcId) && engine.rewritesInPlace(lcId, offset, length);
    }

    @Override
    public int read(long offset, int length, ByteBuf into) {
        int refused = refusal(offset, length);
        if (refused != 0) {
            return refused;
        }
        into.ensureWritable(length);
        int at = into.writerIndex();
        int error = call(Op.READ, () -> engine.read(lcId, offset, into.nioBuffer(at, length)));
        if (error == 0) {
            into.writerIndex(at + length);
            metrics.read(length);
        }
        return error;
    }

    @Override
    public int write(long offset, ByteBuf data, boolean fua) {
        int refused = refusal(offset, data.readableBytes());
        if (refused != 0) {
            return refused;
        }
        int error = call(Op.WRITE, () -> writes.write(lcId, offset, data.nioBuffer()));
        if (error == 0) {
            metrics.written(data.readableBytes());
        }
        return error == 0 && fua ? flush() : error;
    }

    @Override
    public int trim(long offset, long length, boolean fua) {
        int refused = refusal(offset, length);
        if (refused != 0) {
            return refused;
        }
        int error = call(Op.TRIM, () -> writes.trim(lcId, offset, length));
        return error == 0 && fua ? flush() : error;
    }

    @Override
    public int writeZeroes(long offset, long length, boolean fua) {
        int refused = refusal(offset, length);
        if (refused != 0) {
            return refused;
        }
        int error = call(Op.WRITE_ZEROES, () -> writes.writeZeroes(lcId, offset, length));
        return error == 0 && fua ? flush() : error;
    }

    @Override
    public int flush() {
        int refused = scope == null ? 0 : scope.fenced();
        return refused != 0 ? refused : call(Op.FLUSH, () -> engine.flush(lcId));
    }

    /**
     * {@code base:allocation} as a reader sees the disk: a segment that reads as data is allocated,
     * whether stored here or shared with an ancestor (the disk has no backing file a client could
     * know of, so a hole without ZERO would be taken for zeros: QEMU does); a segment that reads
     * zeros (zeroed here, or stored nowhere in the chain) is a zero hole.
     */
    @Override
    public int allocation(long offset, long length, Extents into) {
        int refused = refusal(offset, 1);
        if (refused != 0) {
            return refused;
        }
        try {
            for (Extent extent : engine.allocation(lcId, offset, describable(offset, length))) {
                if (!into.add(extent.length(), stateOf(extent.origin()))) {
                    break;
                }
            }
            return 0;
        } catch (EngineException failure) {
            return errorOf(failure);
        }
    }

    /**
     * {@code qemu:allocation-depth}, the layered view: 1 for a segment stored or zeroed in this lc,
     * 2 for one read from its parent, 3 from the grandparent, …, 0 for one no lc supplies (zeros).
     */
    @Override
    public int allocationDepth(long offset, long length, Extents into) {
        int refused = refusal(offset, 1);
        if (refused != 0) {
            return refused;
        }
        try {
            for (Extent extent : engine.allocation(lcId, offset, describable(offset, length))) {
                if (!into.add(extent.length(), extent.depth())) {
                    break;
                }
            }
            return 0;
        } catch (EngineException failure) {
            return errorOf(failure);
        }
    }

    /** 0, or why the token's replica set refuses the range (a block status asks about its first byte). */
    private int refusal(long offset, long length) {
        return scope == null ? 0 : scope.refusal(offset, length);
    }

    private long describable(long offset, long length) {
        return scope == null ? length : scope.describable(offset, length);
    }

    private static int stateOf(SegmentOrigin origin) {
        return switch (origin) {
            case WRITTEN, INHERITED -> 0;
            case ZEROED, UNWRITTEN -> Nbd.STATE_HOLE | Nbd.STATE_ZERO;
        };
    }

    private int call(Op op, Runnable io) {
        try {
            metrics.time(op, io);
            return 0;
        } catch (EngineException failure) {
            return errorOf(failure);
        } catch (SourceUnreadableException failure) {
            log.warn("lc {}: {}", lcId, failure.getMessage());
            return Nbd.EIO;
        }
    }

    private int errorOf(EngineException failure) {
        if (failure instanceof FrozenLcException) {
            return Nbd.EPERM;
        }
        if (failure instanceof OutOfRangeException) {
            return Nbd.EINVAL; // requests are range-checked before they get here; the lc shrank?
        }
        if (failure instanceof EngineClosedException) {
            return Nbd.ESHUTDOWN;
        }
        if (failure instanceof NoSpaceException) {
            return Nbd.ENOSPC;
        }
        if (failure instanceof CorruptionException) {
            metrics.corruption();
            log.error("lc {}: {}", lcId, failure.getMessage());
        } else {
            log.warn("lc {}: {}", lcId, failure.toString());
        }
        return Nbd.EIO;
    }
}
