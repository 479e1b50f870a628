package dev.sprig.engine;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * CRC32C of 4 KiB blocks. A segment's checksum is the vector of its 64 block CRCs, so that a 4 KiB
 * rewrite in place recomputes one CRC from the bytes being written instead of re-reading the whole
 * 256 KiB segment.
 */
final class BlockCrc {

    private BlockCrc() {}

    /** CRC32C of {@code length} bytes of {@code buf} from absolute index {@code from}. */
    static int of(ByteBuffer buf, int from, int length) {
        CRC32C crc = new CRC32C();
        crc.update(buf.slice(from, length));
        return (int) crc.getValue();
    }

    /**
     * Computes the CRCs of the blocks in {@code buf[from, from + length)} (block-aligned) into
     * {@code crcs} starting at {@code firstBlock}.
     */
    static void ofBlocks(ByteBuffer buf, int from, int length, int[] crcs, int firstBlock) {
        for (int i = 0; i < length / Layout.BLOCK_SIZE; i++) {
            crcs[firstBlock + i] = of(buf, from + i * Layout.BLOCK_SIZE, Layout.BLOCK_SIZE);
        }
    }

    /** Index of the first block of {@code buf[from, from + length)} whose CRC differs, or -1. */
    static int firstMismatch(ByteBuffer buf, int from, int length, int[] crcs, int firstBlock) {
        for (int i = 0; i < length / Layout.BLOCK_SIZE; i++) {
            if (crcs[firstBlock + i] != of(buf, from + i * Layout.BLOCK_SIZE, Layout.BLOCK_SIZE)) {
                return firstBlock + i;
            }
        }
        return -1;
    }
}
