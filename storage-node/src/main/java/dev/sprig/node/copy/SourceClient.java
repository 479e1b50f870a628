package dev.sprig.node.copy;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The node's client of another node's API for answers small enough to hold whole (a PC, a segment, a
 * listing): a GET with the other node's token whose body is read within {@link
 * RangeCopier#SOURCE_TIMEOUT} and a size limit, so that a source that stalls mid-body or sends more
 * than asked cannot hold a caller or its memory. One per node, shared by the rebuild fills.
 *
 * <p>On {@link HttpURLConnection}, not {@code java.net.http.HttpClient}: the latter hands a body to
 * its reader in 16 KiB buffers through its selector thread, a wake-up each, and read a 4 MiB PC at
 * about 260 MiB/s on the test VM where a blocking read straight into the answer's array reads it at
 * about 600 MiB/s. Connections are kept alive by the JDK's cache once a body is read to its end.
 */
public final class SourceClient {

    /** A status and a body read whole, within its size limit and the source's deadline. */
    record Answer(int statusCode, byte[] body) {}

    /** How long a connection to the source may take. */
    private static final int CONNECT_MILLIS = 5_000;

    /**
     * GETs {@code path?query} at the node {@code base}; a failure to connect, a body that breaks off
     * or stalls, or one longer than {@code maxBytes} is {@link CopyException.Reason#SOURCE_UNREADABLE}.
     * Any status is answered: the caller says what it expected. Never follows a redirect: the source
     * is the node api-server named, and a redirect would send the peer's token to wherever that node
     * pointed.
     */
    Answer get(URI base, String token, String path, @Nullable String query, int maxBytes) {
        URI uri;
        try {
            uri = new URI(base.getScheme(), null, base.getHost(), base.getPort(), path, query, null);
        } catch (URISyntaxException e) {
            throw CopyException.invalid("the source endpoint is not a URL: " + base);
        }
        HttpURLConnection connection;
        try {
            connection = (HttpURLConnection) uri.toURL().openConnection();
        } catch (IOException | IllegalArgumentException e) {
            throw CopyException.invalid("the source endpoint is not a URL: " + base);
        }
        connection.setInstanceFollowRedirects(false);
        connection.setUseCaches(false);
        connection.setConnectTimeout(CONNECT_MILLIS);
        connection.setReadTimeout((int) RangeCopier.SOURCE_TIMEOUT.toMillis());
        connection.setRequestProperty("Authorization", "Bearer " + token);
        // the read timeout bounds each read; the whole answer gets a deadline of its own
        ScheduledFuture<?> deadline = RangeCopier.DEADLINES.schedule(
                connection::disconnect, RangeCopier.SOURCE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        int status;
        try {
            status = connection.getResponseCode();
        } catch (IOException e) {
            deadline.cancel(false);
            throw CopyException.sourceUnreadable("reading " + uri.getPath() + " at the source failed: "
                    + (deadline.isDone()
                            ? "it answered nothing within " + RangeCopier.SOURCE_TIMEOUT.toSeconds() + " s"
                            : e.getMessage()));
        }
        try (InputStream body = status >= 400 ? connection.getErrorStream() : connection.getInputStream()) {
            if (body == null) {
                return new Answer(status, new byte[0]);
            }
            byte[] bytes = body.readNBytes(maxBytes + 1);
            if (bytes.length > maxBytes) {
                connection.disconnect();
                throw CopyException.sourceUnreadable(
                        "reading " + uri.getPath() + " at the source: it sent more than " + maxBytes + " bytes");
            }
            return new Answer(status, bytes);
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
