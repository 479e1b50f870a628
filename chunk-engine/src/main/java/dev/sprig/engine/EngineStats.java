package dev.sprig.engine;

import org.jspecify.annotations.Nullable;

/**
 * Space used by the whole engine.
 *
 * @param lcs number of lcs
 * @param segmentsOwned sum over lcs of {@link LcStats#segmentsOwned()}
 * @param zeroSegments sum over lcs of {@link LcStats#zeroSegments()}
 * @param pcsAllocated sum over lcs of {@link LcStats#pcsAllocated()}
 * @param bytesStored sum over lcs of {@link LcStats#bytesStored()}
 * @param journalBytes current size of the metadata journal
 * @param checkpointFailure why the last checkpoint failed (the journal then grows until one
 *     succeeds), or null if it succeeded
 */
public record EngineStats(
        long lcs,
        long segmentsOwned,
        long zeroSegments,
        long pcsAllocated,
        long bytesStored,
        long journalBytes,
        @Nullable String checkpointFailure) {}
