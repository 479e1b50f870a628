package dev.sprig.nbd.server;

import io.netty.buffer.ByteBuf;

/**
 * What an NBD server exports: a disk of a fixed size whose requests arrive already checked against
 * that size (and, for a read-only disk, never as writes; never of zero bytes). Every method returns an NBD error number,
 * 0 for success, and may block: it runs on a worker thread, except the small reads and writes the disk
 * itself asks to have done on the event loop ({@link #readsInline}, {@link #writesInline}).
 */
public non-sealed interface NbdDisk extends NbdExport {

    /**
     * Whether a read this small is better done on the event loop than handed to a worker: true for
     * a disk whose small reads come from memory (the page cache), where two thread hand-offs would
     * cost more than the read.
     */
    default boolean readsInline(int length) {
        return false;
    }

    /**
     * Whether a write this small and without FUA is better done on the event loop than handed to a
     * worker: true for a disk whose small writes land in the page cache and wait for no device, where
     * the two hand-offs would cost as much CPU as the write. A write that waits holds up every
     * connection on that event loop for as long.
     */
    default boolean writesInline(int length) {
        return false;
    }

    /** Appends {@code length} bytes read at {@code offset} to {@code into}. */
    int read(long offset, int length, ByteBuf into);

    /** Writes the readable bytes of {@code data} at {@code offset}, without consuming them. */
    int write(long offset, ByteBuf data, boolean fua);

    int trim(long offset, long length, boolean fua);

    int writeZeroes(long offset, long length, boolean fua);

    /** Returns once every write answered before the call is durable. */
    int flush();

    /**
     * Describes {@code base:allocation} from {@code offset} on: at least the first extent, and no
     * more than {@code length} bytes. It describes the disk as a reader sees it: HOLE only with
     * ZERO, where the bytes read as zeros, since a client with no backing file (QEMU) reads any hole
     * as zeros. The default says "allocated" for the whole range, which the protocol allows for a
     * server that cannot tell.
     */
    default int allocation(long offset, long length, Extents into) {
        into.add(length, 0);
        return 0;
    }

    /**
     * Describes {@code qemu:allocation-depth} the same way, each extent's flags being the depth of
     * the layer its bytes come from (0 none: zeros; 1 this disk; 2 its parent; …). Asked only when
     * the exports serve it. The default says "this disk" for the whole range.
     */
    default int allocationDepth(long offset, long length, Extents into) {
        into.add(length, 1);
        return 0;
    }
}
