package dev.sprig.nodeapi;

import org.jspecify.annotations.Nullable;

/**
 * @param capacityBytes size of the file system holding the data directory
 * @param freeBytes space left on it for this process
 * @param usedBytes bytes of segment data the engine stores
 * @param checkpointFailure why the engine's last checkpoint failed, null if it succeeded
 */
public record NodeView(
        long capacityBytes,
        long freeBytes,
        long usedBytes,
        long lcCount,
        long segmentsOwned,
        long pcsAllocated,
        long journalBytes,
        @Nullable String checkpointFailure) {}
