package dev.sprig.nbd.server;

import dev.sprig.nbd.Nbd;
import io.netty.buffer.ByteBuf;
import java.util.BitSet;

/**
 * A disk in memory, for tests of NBD servers and clients without storage behind them: it keeps
 * what is written and reports each 4 KiB block it has written as allocated, the rest as zero holes.
 */
public final class MemoryDisk implements NbdDisk {

    private static final int BLOCK = 4096;

    private final byte[] bytes;
    private final BitSet written = new BitSet();
    /** How often a connection said it was done with this disk. */
    final java.util.concurrent.atomic.AtomicInteger releases = new java.util.concurrent.atomic.AtomicInteger();

    public MemoryDisk(int sizeBytes) {
        this.bytes = new byte[sizeBytes];
    }

    @Override
    public long sizeBytes() {
        return bytes.length;
    }

    @Override
    public synchronized int read(long offset, int length, ByteBuf into) {
        into.writeBytes(bytes, (int) offset, length);
        return 0;
    }

    @Override
    public synchronized int write(long offset, ByteBuf data, boolean fua) {
        data.getBytes(data.readerIndex(), bytes, (int) offset, data.readableBytes());
        written.set((int) (offset / BLOCK), (int) ((offset + data.readableBytes() + BLOCK - 1) / BLOCK));
        return 0;
    }

    @Override
    public synchronized int trim(long offset, long length, boolean fua) {
        return writeZeroes(offset, length, fua);
    }

    @Override
    public synchronized int writeZeroes(long offset, long length, boolean fua) {
        java.util.Arrays.fill(bytes, (int) offset, (int) (offset + length), (byte) 0);
        return 0;
    }

    @Override
    public int flush() {
        return 0;
    }

    @Override
    public synchronized int allocation(long offset, long length, Extents into) {
        for (long at = offset; at < offset + length; ) {
            long blockEnd = Math.min(offset + length, (at / BLOCK + 1) * BLOCK);
            into.add(blockEnd - at, written.get((int) (at / BLOCK)) ? 0 : Nbd.STATE_HOLE | Nbd.STATE_ZERO);
            at = blockEnd;
        }
        return 0;
    }

    @Override
    public void release() {
        releases.incrementAndGet();
    }
}
