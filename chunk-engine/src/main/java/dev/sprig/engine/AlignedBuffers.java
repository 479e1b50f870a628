package dev.sprig.engine;

import java.nio.ByteBuffer;

/**
 * Direct buffers aligned for direct I/O. {@link ByteBuffer#alignedSlice} alone keeps everything from
 * the first aligned address to the last one: when the allocation happens to start aligned, that is
 * the whole over-allocation, one alignment unit more than asked for. A segment buffer 64 KiB too long
 * made a redirect read 320 KiB of its parent and fail on the 65th block's CRC, in every write of the
 * thread that had it (PowerLossTest, once in two dozen runs).
 */
final class AlignedBuffers {

    private AlignedBuffers() {}

    /** A direct buffer of exactly {@code size} bytes starting on a multiple of {@code alignment}. */
    static ByteBuffer allocate(int size, int alignment) {
        return exactly(ByteBuffer.allocateDirect(size + alignment), size, alignment);
    }

    /** {@code size} bytes of {@code raw} (at least {@code size + alignment} of them) from its first aligned address. */
    static ByteBuffer exactly(ByteBuffer raw, int size, int alignment) {
        return raw.alignedSlice(alignment).slice(0, size);
    }
}
