package dev.sprig.engine;

/**
 * Space used by one lc.
 *
 * @param lcId the lc
 * @param segmentsOwned segments whose bitmap bit is set (stored data or a stored "zeros" mark)
 * @param zeroSegments owned segments that read as zeros without storing bytes
 * @param pcsAllocated PCs with at least one owned segment
 * @param bytesStored bytes of segment data held in the lc's data file
 */
public record LcStats(long lcId, long segmentsOwned, long zeroSegments, long pcsAllocated, long bytesStored) {}
