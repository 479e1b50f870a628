package dev.sprig.nbd.server;

import java.util.List;
import org.jspecify.annotations.Nullable;

/** The exports a server offers, by name. Both methods may block: they run on a worker thread. */
public interface NbdExports {

    /** The disk, or null when no export has that name. */
    @Nullable
    NbdExport open(String name) throws Exception;

    /** The names NBD_OPT_LIST answers with, or null when exports are not listed (a policy refusal). */
    default @Nullable List<String> list() throws Exception {
        return null;
    }

    /**
     * Whether every export serves {@link dev.sprig.nbd.Nbd#ALLOCATION_DEPTH} besides base:allocation
     * (see {@link NbdDisk#allocationDepth}); decided for all exports, since a client negotiates
     * metadata contexts before it opens one.
     */
    default boolean servesAllocationDepth() {
        return false;
    }
}
