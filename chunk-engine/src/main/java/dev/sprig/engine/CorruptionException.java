package dev.sprig.engine;

/**
 * Stored bytes do not match their CRC32C, or the metadata on disk cannot be decoded. The engine
 * never returns such bytes as data. {@code lcId}, {@code pcIndex} and {@code segment} name the
 * damaged segment, or are -1 when the damage is in the metadata files.
 */
public final class CorruptionException extends EngineException {

    private final long lcId;
    private final long pcIndex;
    private final int segment;

    CorruptionException(long lcId, long pcIndex, int segment, String detail) {
        super("corrupt segment (lc " + lcId + ", pc " + pcIndex + ", segment " + segment + "): " + detail);
        this.lcId = lcId;
        this.pcIndex = pcIndex;
        this.segment = segment;
    }

    CorruptionException(String detail) {
        super("corrupt engine metadata: " + detail);
        this.lcId = -1;
        this.pcIndex = -1;
        this.segment = -1;
    }

    public long lcId() {
        return lcId;
    }

    public long pcIndex() {
        return pcIndex;
    }

    public int segment() {
        return segment;
    }

    @Override
    public String code() {
        return "CORRUPTION";
    }
}
