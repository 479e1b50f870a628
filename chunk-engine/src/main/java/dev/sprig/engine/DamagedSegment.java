package dev.sprig.engine;

/** One stored segment whose bytes do not match their CRC32C. */
public record DamagedSegment(long lcId, long pcIndex, int segment) implements Comparable<DamagedSegment> {

    @Override
    public int compareTo(DamagedSegment other) {
        int c = Long.compare(lcId, other.lcId);
        if (c == 0) {
            c = Long.compare(pcIndex, other.pcIndex);
        }
        return c != 0 ? c : Integer.compare(segment, other.segment);
    }
}
