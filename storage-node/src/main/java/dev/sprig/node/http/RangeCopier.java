package dev.sprig.node.http;

import dev.sprig.node.engine.ChunkEngine;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import org.springframework.http.HttpStatus;

/**
 * Copies a range of an lc on another node into an lc here, node to node (the copy made past the
 * clone limit): reads it from the other node's data API with that node's token, a segment at a time,
 * and writes the segments that are not all zeros, so the copy stays as sparse as its source. The
 * range is checked against the lc before anything is read.
 */
final class RangeCopier {

    /** How long the other node may take to answer and to send the range. */
    static final Duration SOURCE_TIMEOUT = Duration.ofSeconds(60);

    private static final ByteBuffer ZERO_SEGMENT = ByteBuffer.allocateDirect(ChunkEngine.SEGMENT_SIZE);

    private final ChunkEngine engine;
    private final DataStreams streams;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    RangeCopier(ChunkEngine engine, DataStreams streams) {
        this.engine = engine;
        this.streams = streams;
    }

    /**
     * Copies {@code [offset, offset + length)} of lc {@code source.lcId()} on the node at
     * {@code source.endpoint()} into lc {@code lcId} at the same offset.
     *
     * @return the bytes stored here: the segments that were not all zeros (the last one cut at the
     *     range's end)
     */
    long copy(long lcId, String endpoint, String token, long sourceLcId, long offset, long length) throws IOException {
        if (offset % ChunkEngine.SEGMENT_SIZE != 0) {
            throw new RequestRejectedException(
                    HttpStatus.BAD_REQUEST,
                    "INVALID_ARGUMENT",
                    "a copied range starts on a segment (" + ChunkEngine.SEGMENT_SIZE + " bytes); " + offset
                            + " does not");
        }
        URI source = sourceUri(endpoint, sourceLcId, offset, length);
        streams.checkRange(lcId, offset, length);
        HttpResponse<InputStream> response;
        try {
            response = http.send(
                    HttpRequest.newBuilder(source)
                            .header("Authorization", "Bearer " + token)
                            .timeout(SOURCE_TIMEOUT)
                            .GET()
                            .build(),
                    HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            throw unreadable(source, "it did not answer: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw unreadable(source, "the copy was interrupted");
        }
        try (InputStream body = response.body()) {
            if (response.statusCode() != 200) {
                throw unreadable(source, "it answered " + response.statusCode());
            }
            byte[] segment = new byte[ChunkEngine.SEGMENT_SIZE];
            long stored = 0;
            for (long done = 0; done < length; ) {
                int want = (int) Math.min(segment.length, length - done);
                int got = body.readNBytes(segment, 0, want);
                if (got < want) {
                    throw unreadable(source, "it sent " + (done + got) + " of " + length + " bytes");
                }
                ByteBuffer piece = ByteBuffer.wrap(segment, 0, want);
                if (piece.mismatch(ZERO_SEGMENT.slice(0, want)) != -1) {
                    engine.write(lcId, offset + done, piece);
                    stored += want;
                }
                done += want;
            }
            return stored;
        }
    }

    private static URI sourceUri(String endpoint, long sourceLcId, long offset, long length) {
        URI base;
        try {
            base = URI.create(endpoint);
        } catch (IllegalArgumentException e) {
            throw new RequestRejectedException(
                    HttpStatus.BAD_REQUEST, "INVALID_ARGUMENT", "the source endpoint is not a URL: " + endpoint);
        }
        if (!"http".equals(base.getScheme()) && !"https".equals(base.getScheme())) {
            throw new RequestRejectedException(
                    HttpStatus.BAD_REQUEST, "INVALID_ARGUMENT", "the source endpoint is not http(s): " + endpoint);
        }
        return URI.create(endpoint.replaceAll("/+$", "") + "/v1/lcs/" + sourceLcId + "/data?offset=" + offset
                + "&length=" + length);
    }

    private static RequestRejectedException unreadable(URI source, String why) {
        return new RequestRejectedException(
                HttpStatus.BAD_GATEWAY,
                "SOURCE_UNREADABLE",
                "reading " + source.getScheme() + "://" + source.getAuthority() + source.getPath() + " failed: " + why);
    }
}
