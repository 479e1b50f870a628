package dev.sprig.api.image;

import dev.sprig.engine.ChunkEngine;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * Finds what an import through the backend's write path must store of some bytes read for it: the
 * segments that are not all zeros, so that the image's copy stays as sparse as its source.
 */
final class NonZeroRuns {

    private static final ByteBuffer ZERO_SEGMENT = ByteBuffer.allocateDirect(ChunkEngine.SEGMENT_SIZE);

    private NonZeroRuns() {}

    /**
     * Adds to {@code runs} the segments of {@code [at, at + length)} in {@code buffer} (segment
     * aligned at {@code at}) that are not all zeros, adjacent ones as one run of {@code {offset,
     * length}}.
     *
     * @return the bytes in the runs added
     */
    static long find(ByteBuffer buffer, int at, int length, List<long[]> runs) {
        int segment = ChunkEngine.SEGMENT_SIZE;
        int end = at + length;
        long total = 0;
        int from = -1;
        for (int position = at; position < end; position += segment) {
            int n = Math.min(segment, end - position);
            boolean zero = buffer.slice(position, n).mismatch(ZERO_SEGMENT.slice(0, n)) == -1;
            if (!zero && from < 0) {
                from = position;
            } else if (zero && from >= 0) {
                runs.add(new long[] {from, position - from});
                total += position - from;
                from = -1;
            }
        }
        if (from >= 0) {
            runs.add(new long[] {from, end - from});
            total += end - from;
        }
        return total;
    }
}
