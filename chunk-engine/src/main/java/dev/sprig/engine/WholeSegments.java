package dev.sprig.engine;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Writes whole segments into an lc's data file: a first write's redirect, a fill, a copy from an
 * ancestor, a rewrite of a whole segment. Where the file system allows direct I/O they go past the
 * page cache. A first write into a clone's segment puts 256 KiB in the file for a few KiB of the
 * client's; written through the page cache, each of those bytes costs a fresh page, dirty until
 * writeback, for data the VM that wrote it already caches itself. On the 2-core test VM that was
 * about 0.9 ms of node CPU per first write, 0.2 ms with direct I/O, and a replicated write pays it
 * on every copy. Writes of part of a segment stay buffered: a 4 KiB rewrite through the page cache
 * costs one page, not a round trip to the device.
 *
 * <p>Buffered and direct I/O on one file stay coherent: Linux writes back and drops the cached
 * pages of the range around a direct write, and the caller holds the segment's stripe lock, so no
 * read or write of the same segment runs meanwhile. Durability is the flush protocol's as before:
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
        FileChannel direct = lc.directChannel();
        while (bytes.hasRemaining()) {
            position += direct.write(bytes, position);
        }
    }
}
