package dev.sprig.node.copy;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.node.rebuild.RebuildSource;
import dev.sprig.node.rebuild.SegmentSource;
import dev.sprig.node.rebuild.SourceUnreadableException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Reads a rebuilding lc's missing segment from its rebuild source over the source node's data API
 * ({@code GET /v1/lcs/{id}/data?offset=&length=}, which reads through the source's parent chain),
 * with the source node's token, within {@link SourceClient}'s deadline and at most one segment.
 */
public final class ResolvedSegments implements SegmentSource {

    private final SourceClient client;

    public ResolvedSegments(SourceClient client) {
        this.client = client;
    }

    @Override
    public void read(RebuildSource source, long offset, ByteBuffer into) {
        int length = into.remaining();
        if (length > ChunkEngine.SEGMENT_SIZE) {
            throw new IllegalArgumentException("a rebuild reads at most a segment, not " + length + " bytes");
        }
        String path = "/v1/lcs/" + source.lcId() + "/data";
        SourceClient.Answer answer;
        try {
            answer = client.get(
                    RangeCopier.nodeBase(source.endpoint()),
                    source.token(),
                    path,
                    "offset=" + offset + "&length=" + length,
                    length);
        } catch (CopyException failure) {
            throw new SourceUnreadableException("the rebuild source " + source + ": " + failure.getMessage());
        }
        if (answer.statusCode() != 200 || answer.body().length != length) {
            throw new SourceUnreadableException("the rebuild source " + source + " answered " + path + "?offset="
                    + offset + "&length=" + length + " with " + answer.statusCode() + " and " + answer.body().length
                    + " bytes" + (answer.statusCode() == 200 ? "" : ": " + excerpt(answer.body())));
        }
        into.put(answer.body());
    }

    private static String excerpt(byte[] body) {
        String text = new String(body, StandardCharsets.UTF_8);
        return text.length() <= 300 ? text : text.substring(0, 300) + "…";
    }
}
