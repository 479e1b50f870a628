package dev.sprig.nbd.server;

/**
 * What a server exports under a name: a disk of a fixed size, served either by blocking calls on
 * worker threads ({@link NbdDisk}) or without blocking on the connection's event loop
 * ({@link AsyncNbdDisk}).
 */
public sealed interface NbdExport permits NbdDisk, AsyncNbdDisk {

    long sizeBytes();

    /** A read-only export refuses writes with EPERM before they reach it. */
    default boolean readOnly() {
        return false;
    }

    /**
     * The connection that opened this export has ended, or only asked about it (NBD_OPT_INFO):
     * nothing more comes through it. Called once, on an event loop: it must not block.
     */
    default void release() {}
}
