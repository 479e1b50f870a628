package dev.sprig.engine;

import java.nio.ByteBuffer;
import org.jspecify.annotations.Nullable;

/**
 * One segment of a PC to fill ({@link ChunkEngine#fillSegments}): its number in the PC, and its 256
 * KiB from {@code data}'s position, or null for a segment of zeros (no bytes stored).
 */
public record SegmentFill(int segment, @Nullable ByteBuffer data) {

    public static SegmentFill zeros(int segment) {
        return new SegmentFill(segment, null);
    }
}
