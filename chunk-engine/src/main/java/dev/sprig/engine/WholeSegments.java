package dev.sprig.engine;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.List;

/**
 * Writes whole segments into an lc's data file: a first write's redirect, a fill, a copy from an
 * ancestor, a rewrite of a whole segment; and reads whole segments for another replica (a rebuild's
 * source). Where the file system allows direct I/O they go past the page cache. A first write into a clone's segment puts 256 KiB in the file for a few KiB of the
 * client's; written through the page cache, each of those bytes costs a fresh page, dirty until
 * writeback, for data the VM that wrote it already caches itself. On the 2-core test VM that was
 * about 0.9 ms of node CPU per first write, 0.2 ms with direct I/O, and a replicated write pays it
 * on every copy. Writes of part of a segment stay buffered: a 4 KiB rewrite through the page cache
 * costs one page, not a round trip to the device.
 *
 * <p>Buffered and direct I/O on one file stay coherent: Linux writes back and drops the cached
 * pages of the range around a direct write, and the caller holds the segment's stripe lock, so no
 * read or write of the same segment runs meanwhile (a direct read writes back the range's dirty
 * cached pages first). A rebuild reads every segment of a column once: through the mapping, each
 * 4 KiB page of a segment not in the cache was a fault of its own, and the source node spent most of
 * a rebuild in them (a 4 MiB direct read costs a tenth of a millisecond of CPU a MiB; faulting the
 * same bytes in, one to three), and the pages it brought in pushed the clients' out. Durability is the flush protocol's as before:
 * a direct write reaches the device, but the file's block allocation is made durable by the fsync
 * of the next flush.
 */
final class WholeSegments {

    /**
     * The alignment of {@link #scratch()}: direct I/O on a file system whose block is at most this
     * can use it without a copy. Larger blocks get buffered writes.
     */
    static final int ALIGNMENT = 64 * 1024;

    /** A segment being built or copied, one per thread; aligned for direct I/O. */
    private static final ThreadLocal<ByteBuffer> SCRATCH =
            ThreadLocal.withInitial(() -> AlignedBuffers.allocate(Layout.SEGMENT_SIZE, ALIGNMENT));

    /**
     * A PC's consecutive segments read or written in one request, one per thread that copies whole
     * PCs (a rebuild's source and target). Sixteen requests of 256 KiB were sixteen notifications of
     * the virtual disk, each an exit to the hypervisor, and those were a tenth of a rebuild source's
     * CPU.
     */
    private static final ThreadLocal<ByteBuffer> PC_SCRATCH =
            ThreadLocal.withInitial(() -> AlignedBuffers.allocate((int) Layout.PC_SIZE, ALIGNMENT));

    /** What direct I/O aligns to in this engine's directory, or 0 for buffered writes. */
    private final int directAlignment;

    /** {@code directIoAlignment}: what the probe found (0: the file system refuses direct I/O). */
    WholeSegments(int directIoAlignment) {
        this.directAlignment = directIoAlignment > 0 && directIoAlignment <= ALIGNMENT ? directIoAlignment : 0;
    }

    /**
     * This thread's segment buffer, cleared; callers build a segment in it. It is also where
     * {@link #write} copies a segment that is not aligned, so a caller holding another segment's
     * bytes must not keep them there across a write.
     */
    static ByteBuffer scratch() {
        return SCRATCH.get().clear();
    }

    boolean direct() {
        return directAlignment > 0;
    }

    /**
     * Whether a file that ends on a 4 KiB block (one written block by block) is still read to its end
     * with direct I/O: a short read at the end of a file that direct I/O cannot align to would leave
     * the next read unaligned.
     */
    boolean readsFilesOfBlocks() {
        return directAlignment <= Layout.BLOCK_SIZE;
    }

    /**
     * Reads the stored {@link Layout#SEGMENT_SIZE} bytes of segment {@code s} into {@code dst} from
     * its position, which it advances; the caller verifies them. A file that ends inside the
     * segment (never written that far) reads as zeros there.
     */
    void read(Lc lc, long pc, int s, ByteBuffer dst) throws IOException {
        ByteBuffer into = dst.slice(dst.position(), Layout.SEGMENT_SIZE);
        long position = Layout.segmentOffset(pc, s);
        if (directAlignment == 0) {
            SegmentReader.readFully(lc, position, into);
        } else {
            boolean inPlace = into.isDirect() && into.alignmentOffset(0, directAlignment) == 0;
            ByteBuffer bytes = inPlace ? into : scratch();
            SegmentReader.readFully(lc.directChannel(), position, bytes);
            if (!inPlace) {
                into.put(0, bytes, 0, Layout.SEGMENT_SIZE);
            }
        }
        dst.position(dst.position() + Layout.SEGMENT_SIZE);
    }

    /**
     * Reads the stored bytes of {@code count} consecutive segments from segment {@code first} of the
     * PC, in one request where direct I/O is used, into {@code dst[first]}, {@code dst[first + 1]}, …
     * from their positions, which it advances; the caller verifies them.
     */
    void readRun(Lc lc, long pc, int first, int count, ByteBuffer[] dst) throws IOException {
        if (directAlignment == 0 || count == 1) {
            for (int s = first; s < first + count; s++) {
                read(lc, pc, s, dst[s]);
            }
            return;
        }
        ByteBuffer run = PC_SCRATCH.get().clear().limit(count * Layout.SEGMENT_SIZE);
        SegmentReader.readFully(lc.directChannel(), Layout.segmentOffset(pc, first), run);
        for (int i = 0; i < count; i++) {
            ByteBuffer to = dst[first + i];
            to.put(to.position(), run, i * Layout.SEGMENT_SIZE, Layout.SEGMENT_SIZE);
            to.position(to.position() + Layout.SEGMENT_SIZE);
        }
    }

    /**
     * Writes {@code count} consecutive segments from segment {@code first} of the PC, the
     * {@link Layout#SEGMENT_SIZE} bytes from each of {@code segments} (their positions do not move),
     * in one request where direct I/O is used.
     */
    void writeRun(Lc lc, long pc, int first, List<ByteBuffer> segments) throws IOException {
        if (directAlignment == 0 || segments.size() == 1) {
            for (int i = 0; i < segments.size(); i++) {
                write(lc, pc, first + i, segments.get(i));
            }
            return;
        }
        ByteBuffer run = PC_SCRATCH.get().clear().limit(segments.size() * Layout.SEGMENT_SIZE);
        for (int i = 0; i < segments.size(); i++) {
            ByteBuffer segment = segments.get(i);
            run.put(i * Layout.SEGMENT_SIZE, segment, segment.position(), Layout.SEGMENT_SIZE);
        }
        writeDirect(lc, Layout.segmentOffset(pc, first), run);
    }

    /** Writes the {@link Layout#SEGMENT_SIZE} bytes from {@code segment}'s position; does not move it. */
    void write(Lc lc, long pc, int s, ByteBuffer segment) throws IOException {
        ByteBuffer bytes = segment.slice(segment.position(), Layout.SEGMENT_SIZE);
        long position = Layout.segmentOffset(pc, s);
        if (directAlignment == 0) {
            SegmentWriter.writeFully(lc, position, bytes);
            return;
        }
        if (!bytes.isDirect() || bytes.alignmentOffset(0, directAlignment) != 0) {
            bytes = scratch().put(0, bytes, 0, Layout.SEGMENT_SIZE);
        }
        writeDirect(lc, position, bytes);
    }

    /**
     * Writes all of {@code bytes} (aligned) at {@code position} with direct I/O, counted as in flight
     * on the lc meanwhile ({@link ChunkEngine#rewritesInPlace}); a failure may have left part of them.
     */
    private static void writeDirect(Lc lc, long position, ByteBuffer bytes) throws IOException {
        FileChannel direct = lc.directChannel();
        lc.directWriteStarted();
        try {
            SegmentWriter.writeFully(lc, direct, position, bytes);
        } finally {
            lc.directWriteEnded();
        }
    }
}
