package dev.sprig.agent.nbd;

import io.netty.buffer.ByteBuf;

/**
 * What the agent's NBD server exports: a disk of a fixed size whose requests arrive already
 * checked against that size. Every method returns an NBD error number, 0 for success, and may
 * block (it runs on a worker thread, never on the event loop).
 */
public interface Disk {

    long sizeBytes();

    /** Appends {@code length} bytes read at {@code offset} to {@code into}. */
    int read(long offset, int length, ByteBuf into);

    int write(long offset, ByteBuf data, boolean fua);

    int trim(long offset, long length, boolean fua);

    int writeZeroes(long offset, long length, boolean fua);

    /** Returns once every write answered before the call is durable. */
    int flush();
}
