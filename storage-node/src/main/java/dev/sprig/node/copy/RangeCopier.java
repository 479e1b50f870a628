package dev.sprig.node.copy;

import dev.sprig.engine.ChunkEngine;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Copies a range of an lc on another node into an lc here, node to node (the copy made past the
 * clone limit): reads it from the other node's data API with that node's token, a segment at a time,
 * and writes the segments that are not all zeros (all-zero ones are zeroed, which stores nothing),
 * so the copy reads as its source and stays as sparse. The range is checked against the lc before
 * anything is read; a source that fails part way leaves the segments before the failure written.
 */
public final class RangeCopier {

    /** How long the other node may take to answer, and then to send the range. */
    static final Duration SOURCE_TIMEOUT = Duration.ofSeconds(60);

    private final ChunkEngine engine;
    private final RangeCheck rangeCheck;
    /** Closes bodies that outlive their deadline; one daemon thread for every copy. */
    /** Closes a body that stalls: the request timeout of the JDK client ends with the headers. */
    static final ScheduledExecutorService DEADLINES = Executors.newSingleThreadScheduledExecutor(work -> {
        Thread thread = new Thread(work, "copy-from-deadline");
        thread.setDaemon(true);
        return thread;
    });

    /**
     * Never follows a redirect: the source is the node api-server named, and a redirect would send
     * the peer's token to wherever that node pointed.
     */
    private final HttpClient http = HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(5))
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();

    /**
     * The checks a range of an lc passes before any byte of it moves (the data API's: its size against
     * what one request may carry, its bounds against the lc's), failing with the exception the caller
     * answers for them.
     */
    @FunctionalInterface
    public interface RangeCheck {
        void check(long lcId, long offset, long length);
    }

    public RangeCopier(ChunkEngine engine, RangeCheck rangeCheck) {
        this.engine = engine;
        this.rangeCheck = rangeCheck;
    }

    /**
     * Copies {@code [offset, offset + length)} of lc {@code source.lcId()} on the node at
     * {@code source.endpoint()} into lc {@code lcId} at the same offset.
     *
     * @return the bytes stored here: the segments that were not all zeros (the last one cut at the
     *     range's end)
     */
    public long copy(long lcId, String endpoint, String token, long sourceLcId, long offset, long length)
            throws IOException {
        if (offset % ChunkEngine.SEGMENT_SIZE != 0) {
            throw invalid("a copied range starts on a segment (" + ChunkEngine.SEGMENT_SIZE + " bytes); " + offset
                    + " does not");
        }
        URI source = sourceUri(endpoint, sourceLcId, offset, length);
        rangeCheck.check(lcId, offset, length);
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
        InputStream body = response.body();
        // the request's timeout ends with the headers: the body gets a deadline of its own
        ScheduledFuture<?> deadline =
                DEADLINES.schedule(() -> closeQuietly(body), SOURCE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        try (body) {
            if (response.statusCode() != 200) {
                throw unreadable(source, "it answered " + response.statusCode());
            }
            byte[] segment = new byte[ChunkEngine.SEGMENT_SIZE];
            long stored = 0;
            for (long done = 0; done < length; ) {
                int want = (int) Math.min(segment.length, length - done);
                int got;
                try {
                    got = body.readNBytes(segment, 0, want);
                } catch (IOException e) {
                    throw unreadable(
                            source,
                            deadline.isDone()
                                    ? "it sent no more within " + SOURCE_TIMEOUT.toSeconds() + " s"
                                    : "the body broke off: " + e.getMessage());
                }
                if (got < want) {
                    throw unreadable(source, "the body ended early");
                }
                stored += engine.writeSparse(lcId, offset + done, ByteBuffer.wrap(segment, 0, want));
                done += want;
            }
            return stored;
        } finally {
            deadline.cancel(false);
        }
    }

    static void closeQuietly(InputStream body) {
        try {
            body.close();
        } catch (IOException e) {
            // the read it interrupts reports the failure
        }
    }

    /**
     * The source's data URL: only a scheme, host and port are taken from the caller, so the node
     * fetches nothing but another node's data API.
     */
    private static URI sourceUri(String endpoint, long sourceLcId, long offset, long length) {
        URI base = nodeBase(endpoint);
        try {
            return new URI(
                    base.getScheme(),
                    null,
                    base.getHost(),
                    base.getPort(),
                    "/v1/lcs/" + sourceLcId + "/data",
                    "offset=" + offset + "&length=" + length,
                    null);
        } catch (URISyntaxException e) {
            throw invalid("the source endpoint is not a URL: " + endpoint);
        }
    }

    /** Another node's API, {@code http(s)://host:port} and nothing more, or an INVALID_ARGUMENT failure. */
    public static URI nodeBase(String endpoint) {
        URI base;
        try {
            base = new URI(endpoint);
        } catch (URISyntaxException e) {
            throw invalid("the source endpoint is not a URL: " + endpoint);
        }
        boolean bare = (base.getRawPath() == null
                        || base.getRawPath().isEmpty()
                        || base.getRawPath().equals("/"))
                && base.getRawQuery() == null
                && base.getRawFragment() == null
                && base.getRawUserInfo() == null;
        if (!("http".equals(base.getScheme()) || "https".equals(base.getScheme())) || base.getHost() == null || !bare) {
            throw invalid("the source endpoint must be http(s)://host:port and nothing more: " + endpoint);
        }
        return base;
    }

    private static CopyException invalid(String detail) {
        return CopyException.invalid(detail);
    }

    private static CopyException unreadable(URI source, String why) {
        return CopyException.sourceUnreadable(
                "reading " + source.getScheme() + "://" + source.getAuthority() + source.getPath() + " failed: " + why);
    }
}
