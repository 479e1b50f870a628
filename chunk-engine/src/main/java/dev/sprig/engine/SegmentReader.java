package dev.sprig.engine;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.StampedLock;
import java.util.zip.CRC32C;

/**
 * The read path: resolves each segment of a range to the lc that owns it (the lc itself, an
 * ancestor through the resolved-PC cache, or none: zeros) and reads it, verifying every 4 KiB block
 * against its CRC32C. Also the block status of a range ({@code allocation}).
 */
final class SegmentReader {

    /** A segment of zeros, for whatever reads as zeros. */
    static final ByteBuffer ZEROS =
            ByteBuffer.allocateDirect(Layout.SEGMENT_SIZE).asReadOnlyBuffer();

    private static final ThreadLocal<ByteBuffer> READ_SCRATCH =
            ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(Layout.SEGMENT_SIZE));
    /** Written with the bytes {@code readMapped} touches, so that the JIT keeps those loads. */
    @SuppressWarnings("unused")
    private static int touchSink;

    private final EngineState state;
    private final SegmentLocks stripes;
    private final ResolvedPcs resolvedPcs;

    SegmentReader(EngineState state) {
        this.state = state;
        this.stripes = state.stripes;
        this.resolvedPcs = state.resolvedPcs;
    }

    List<Extent> allocation(long lcId, long offset, long length) {
        Lock l = state.shared();
        try {
            Lc lc = state.lc(lcId);
            EngineState.checkRange(lc, offset, length);
            List<Extent> extents = new ArrayList<>();
            long end = offset + length;
            long start = offset;
            SegmentOrigin current = null;
            int currentDepth = -1;
            for (long pos = offset; pos < end; ) {
                long segNo = pos >>> Layout.SEGMENT_SHIFT;
                long pc = Layout.pcOf(segNo);
                int s = Layout.segmentOf(segNo);
                SegmentOrigin origin = originOf(lc, pc, s);
                int depth = depthOf(lc, pc, s, origin);
                if (origin != current || depth != currentDepth) {
                    if (current != null) {
                        extents.add(new Extent(start, pos - start, current, currentDepth));
                    }
                    current = origin;
                    currentDepth = depth;
                    start = pos;
                }
                pos = Math.min(end, (segNo + 1) << Layout.SEGMENT_SHIFT);
            }
            if (current != null) {
                extents.add(new Extent(start, end - start, current, currentDepth));
            }
            return extents;
        } finally {
            l.unlock();
        }
    }

    /** The parent of an lc is frozen, so its resolved PC is settled and cached. */
    private SegmentOrigin originOf(Lc lc, long pc, int s) {
        PcMeta meta = lc.pcs.get(pc);
        byte state = meta != null ? meta.state(s) : PcMeta.UNOWNED;
        if (state == PcMeta.DATA) {
            return SegmentOrigin.WRITTEN;
        }
        if (state == PcMeta.ZERO) {
            return SegmentOrigin.ZEROED;
        }
        Lc parent = lc.parent;
        if (parent == null) {
            return SegmentOrigin.UNWRITTEN;
        }
        ResolvedPc resolved = resolvedPcs.of(parent, pc);
        return resolved.owners()[s] != null && resolved.crcs()[s] != null
                ? SegmentOrigin.INHERITED
                : SegmentOrigin.UNWRITTEN;
    }

    /**
     * How far up the chain the segment's bytes come from. Block status only: it walks the chain
     * from the lc to the owner (a read never does; see invariant 6).
     */
    private int depthOf(Lc lc, long pc, int s, SegmentOrigin origin) {
        return switch (origin) {
            case WRITTEN, ZEROED -> 1;
            case UNWRITTEN -> 0;
            case INHERITED -> {
                Lc parent = lc.parent;
                Lc owner = parent != null ? resolvedPcs.of(parent, pc).owners()[s] : null;
                int depth = 2;
                for (Lc at = parent; at != null && at != owner; at = at.parent) {
                    depth++;
                }
                yield depth;
            }
        };
    }

    void read(long lcId, long offset, ByteBuffer dst) {
        Lock l = state.shared();
        try {
            Lc lc = state.lc(lcId);
            EngineState.checkRange(lc, offset, dst.remaining());
            long pos = offset;
            while (dst.hasRemaining()) {
                int inSegment = (int) (pos & (Layout.SEGMENT_SIZE - 1));
                int n = Math.min(dst.remaining(), Layout.SEGMENT_SIZE - inSegment);
                long segNo = pos >>> Layout.SEGMENT_SHIFT;
                readSegment(lc, Layout.pcOf(segNo), Layout.segmentOf(segNo), inSegment, dst.slice(dst.position(), n));
                dst.position(dst.position() + n);
                pos += n;
            }
        } catch (IOException e) {
            throw new EngineIoException("read lc " + lcId, e);
        } finally {
            l.unlock();
        }
    }

    /**
     * Reads part of one segment. For a writable lc the segment's state and CRCs are first read
     * optimistically (no lock write at all); if a writer took the segment's lock meanwhile, the
     * result, including any CRC mismatch, is discarded and the read is repeated under the lock. A
     * mismatch is reported only when no writer interfered, so it is real damage.
     */
    private void readSegment(Lc lc, long pc, int s, int inSegment, ByteBuffer piece) throws IOException {
        if (lc.frozen) {
            readResolved(resolvedPcs.of(lc, pc), pc, s, inSegment, piece);
            return;
        }
        StampedLock stripe = stripes.of(lc.id, pc, s);
        long optimistic = stripe.tryOptimisticRead();
        if (optimistic != 0) {
            try {
                if (readOwned(lc, pc, s, inSegment, piece) && stripe.validate(optimistic)) {
                    return;
                }
                if (stripe.validate(optimistic)) {
                    readFromParent(lc, pc, s, inSegment, piece);
                    return;
                }
            } catch (CorruptionException | IllegalStateException e) {
                if (stripe.validate(optimistic)) {
                    throw e;
                }
            }
        }
        long stamp = stripe.readLock();
        try {
            if (readOwned(lc, pc, s, inSegment, piece)) {
                return;
            }
        } finally {
            stripe.unlockRead(stamp);
        }
        readFromParent(lc, pc, s, inSegment, piece);
    }

    /** Reads the segment if this lc owns it (data or zeros) and returns true; false if unowned. */
    private boolean readOwned(Lc lc, long pc, int s, int inSegment, ByteBuffer piece) throws IOException {
        PcMeta meta = lc.pcs.get(pc);
        byte state = meta != null ? meta.state(s) : PcMeta.UNOWNED;
        if (state == PcMeta.DATA) {
            readStored(lc, pc, s, meta.crcs(s), inSegment, piece);
            return true;
        }
        if (state == PcMeta.ZERO) {
            piece.put(0, ZEROS, 0, piece.remaining());
            return true;
        }
        return false;
    }

    /**
     * The parent is frozen and stays attached while the shared engine lock is held, so this needs
     * no segment lock: a concurrent redirect or flatten copy of this segment in the lc makes this
     * read the older, still valid, value.
     */
    private void readFromParent(Lc lc, long pc, int s, int inSegment, ByteBuffer piece) throws IOException {
        Lc parent = lc.parent;
        if (parent == null) {
            piece.put(0, ZEROS, 0, piece.remaining());
        } else {
            readResolved(resolvedPcs.of(parent, pc), pc, s, inSegment, piece);
        }
    }

    void readResolved(ResolvedPc resolved, long pc, int s, int inSegment, ByteBuffer piece) throws IOException {
        Lc owner = resolved.owners()[s];
        int[] crcs = resolved.crcs()[s];
        if (owner == null || crcs == null) {
            piece.put(0, ZEROS, 0, piece.remaining());
        } else {
            readStored(owner, pc, s, crcs, inSegment, piece);
        }
    }

    /**
     * Reads {@code piece.remaining()} bytes (piece's position must be 0) at {@code inSegment} of a
     * stored segment, verifying every 4 KiB block the range touches. Block-aligned reads into a
     * direct buffer land in place; others go through a scratch buffer.
     */
    void readStored(Lc owner, long pc, int s, int[] crcs, int inSegment, ByteBuffer piece) throws IOException {
        int n = piece.remaining();
        int first = inSegment & -Layout.BLOCK_SIZE;
        int end = (inSegment + n + Layout.BLOCK_SIZE - 1) & -Layout.BLOCK_SIZE;
        long fileOffset = Layout.segmentOffset(pc, s) + first;
        MappedByteBuffer mapped = owner.frozen ? owner.region(fileOffset, end - first) : null;
        if (mapped != null) {
            readMapped(owner, pc, s, crcs, mapped, Lc.inRegion(fileOffset), inSegment, piece);
            return;
        }
        if (first == inSegment && end == inSegment + n && piece.isDirect()) {
            readFully(owner, fileOffset, piece.duplicate());
            verify(owner, pc, s, piece, n, crcs, first);
        } else {
            ByteBuffer scratch = READ_SCRATCH.get().clear().limit(end - first);
            readFully(owner, fileOffset, scratch.duplicate());
            verify(owner, pc, s, scratch, end - first, crcs, first);
            piece.put(0, scratch, inSegment - first, n);
        }
    }

    /**
     * Reads a stored range of a frozen lc from its mapping, without a system call: each 4 KiB block
     * is copied to {@code piece} (or, if the range covers it only in part, to a scratch block) and
     * its CRC computed over the copy while it is in L1, so the bytes checked are the bytes
     * returned. The next block's cache lines are touched first, so they load during the CRC.
     * {@code mapped[at]} is the first byte of the range's first block.
     *
     * <p>The CRC never reads the mapping itself: a page that cannot be read (an I/O error, a file
     * truncated behind the engine's back) raises SIGBUS, which the JVM turns into an
     * {@link InternalError} in a copy or a load, but which kills the process inside the CRC32C
     * intrinsic (JDK 17).
     */
    private static void readMapped(
            Lc owner, long pc, int s, int[] crcs, ByteBuffer mapped, int at, int inSegment, ByteBuffer piece) {
        int n = piece.remaining();
        int first = inSegment & -Layout.BLOCK_SIZE;
        int end = (inSegment + n + Layout.BLOCK_SIZE - 1) & -Layout.BLOCK_SIZE;
        CRC32C crc = new CRC32C();
        ByteBuffer checked = piece.duplicate(); // position and limit frame each block for the CRC
        ByteBuffer block = READ_SCRATCH.get().duplicate().clear().limit(Layout.BLOCK_SIZE);
        int touched = 0;
        for (int b = first; b < end; b += Layout.BLOCK_SIZE) {
            int src = at + b - first;
            if (b + Layout.BLOCK_SIZE < end) {
                for (int line = 0; line < Layout.BLOCK_SIZE; line += 64) {
                    touched += mapped.get(src + Layout.BLOCK_SIZE + line);
                }
            }
            int lo = Math.max(b, inSegment);
            int hi = Math.min(b + Layout.BLOCK_SIZE, inSegment + n);
            crc.reset();
            if (lo == b && hi == b + Layout.BLOCK_SIZE) {
                piece.put(b - inSegment, mapped, src, Layout.BLOCK_SIZE);
                crc.update(checked.limit(b - inSegment + Layout.BLOCK_SIZE).position(b - inSegment));
            } else {
                block.put(0, mapped, src, Layout.BLOCK_SIZE);
                crc.update(block.position(0));
            }
            if ((int) crc.getValue() != crcs[b >> Layout.BLOCK_SHIFT]) {
                throw new CorruptionException(
                        owner.id, pc, s, "block " + (b >> Layout.BLOCK_SHIFT) + " does not match its CRC32C");
            }
            if (lo != b || hi != b + Layout.BLOCK_SIZE) {
                piece.put(lo - inSegment, block, lo - b, hi - lo);
            }
        }
        touchSink = touched; // keeps the touching loads from being optimized away
    }

    static void verify(Lc owner, long pc, int s, ByteBuffer buf, int length, int[] crcs, int firstByte) {
        int bad = BlockCrc.firstMismatch(buf, 0, length, crcs, firstByte >> Layout.BLOCK_SHIFT);
        if (bad >= 0) {
            throw new CorruptionException(owner.id, pc, s, "block " + bad + " does not match its CRC32C");
        }
    }

    static void readFully(Lc lc, long position, ByteBuffer buf) throws IOException {
        readFully(lc.channel(), position, buf);
    }

    /** Fills {@code buf} from {@code position} of {@code ch}; what lies past the file's end reads as zeros. */
    static void readFully(FileChannel ch, long position, ByteBuffer buf) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                while (buf.hasRemaining()) {
                    int zeros = Math.min(buf.remaining(), Layout.SEGMENT_SIZE);
                    buf.put(buf.position(), ZEROS, 0, zeros);
                    buf.position(buf.position() + zeros);
                }
                return;
            }
            pos += n;
        }
    }
}
