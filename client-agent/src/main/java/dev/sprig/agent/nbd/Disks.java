package dev.sprig.agent.nbd;

import org.jspecify.annotations.Nullable;

/** Opens the disk an export name names. May block: it is called on a worker thread. */
@FunctionalInterface
public interface Disks {

    /** The disk, or null when no disk has that name. */
    @Nullable
    Disk open(String exportName) throws Exception;
}
