package dev.sprig.agent.nbd;

import io.netty.buffer.ByteBuf;

/** A disk of zeroes that accepts everything: for tests of the NBD server itself, without nodes. */
public record MemoryDisk(long sizeBytes) implements Disk {

    @Override
    public int read(long offset, int length, ByteBuf into) {
        into.writeZero(length);
        return 0;
    }

    @Override
    public int write(long offset, ByteBuf data, boolean fua) {
        return 0;
    }

    @Override
    public int trim(long offset, long length, boolean fua) {
        return 0;
    }

    @Override
    public int writeZeroes(long offset, long length, boolean fua) {
        return 0;
    }

    @Override
    public int flush() {
        return 0;
    }
}
