package dev.sprig.node.copy;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The node's client of another node's API for answers small enough to hold whole (a segment, a
 * listing): a GET with the other node's token whose body is read within {@link
 * RangeCopier#SOURCE_TIMEOUT} and a size limit, so that a source that stalls mid-body or sends more
 * than asked cannot hold a caller or its memory. One per node, shared by the rebuild fills.
 */
public final class SourceClient {

    /** A status and a body read whole, within its size limit and the source's deadline. */
    record Answer(int statusCode, byte[] body) {}

    /**
     * Never follows a redirect: the source is the node api-server named, and a redirect would send
     * the peer's token to wherever that node pointed.
     */
    private final HttpClient http = HttpClient.newBuilder()
            .connectTimeout(Duration.ofSeconds(5))
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();

    /**
     * GETs {@code path?query} at the node {@code base}; a failure to connect, a body that breaks off
     * or stalls, or one longer than {@code maxBytes} is {@link CopyException.Reason#SOURCE_UNREADABLE}.
     * Any status is answered: the caller says what it expected.
     */
    Answer get(URI base, String token, String path, @Nullable String query, int maxBytes) {
        URI uri;
        try {
            uri = new URI(base.getScheme(), null, base.getHost(), base.getPort(), path, query, null);
        } catch (URISyntaxException e) {
            throw CopyException.invalid("the source endpoint is not a URL: " + base);
        }
        HttpResponse<InputStream> response;
        try {
            response = http.send(
                    HttpRequest.newBuilder(uri)
                            .header("Authorization", "Bearer " + token)
                            .timeout(RangeCopier.SOURCE_TIMEOUT)
                            .GET()
                            .build(),
                    HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            throw CopyException.sourceUnreadable(
                    "reading " + uri.getPath() + " at the source failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw CopyException.sourceUnreadable("reading " + uri.getPath() + " at the source was interrupted");
        }
        InputStream body = response.body();
        // the request's timeout ends with the headers: the body gets a deadline of its own
        ScheduledFuture<?> deadline = RangeCopier.DEADLINES.schedule(
                () -> RangeCopier.closeQuietly(body), RangeCopier.SOURCE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        try (body) {
            byte[] bytes = body.readNBytes(maxBytes + 1);
            if (bytes.length > maxBytes) {
                throw CopyException.sourceUnreadable(
                        "reading " + uri.getPath() + " at the source: it sent more than " + maxBytes + " bytes");
            }
            return new Answer(response.statusCode(), bytes);
        } catch (IOException e) {
            throw CopyException.sourceUnreadable("reading " + uri.getPath() + " at the source: "
                    + (deadline.isDone()
                            ? "it sent no more within " + RangeCopier.SOURCE_TIMEOUT.toSeconds() + " s"
                            : "the body broke off: " + e.getMessage()));
        } finally {
            deadline.cancel(false);
        }
    }
}
