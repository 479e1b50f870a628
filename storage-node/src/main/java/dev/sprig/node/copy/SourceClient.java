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

    /** Reads an answer's body: at most the bytes the caller allowed, within the source's deadline. */
    @FunctionalInterface
    interface BodyReader<T> {
        T read(int statusCode, InputStream body) throws IOException;
    }

    /**
     * GETs {@code path?query} at the node {@code base}; a failure to connect, a body that breaks off
     * or stalls, or one longer than {@code maxBytes} is {@link CopyException.Reason#SOURCE_UNREADABLE}.
     * Any status is answered: the caller says what it expected.
     */
    Answer get(URI base, String token, String path, @Nullable String query, int maxBytes) {
        return get(base, token, path, query, maxBytes, (status, body) -> {
            byte[] bytes = body.readNBytes(maxBytes + 1);
            if (bytes.length > maxBytes) {
                throw new TooLong();
            }
            return new Answer(status, bytes);
        });
    }

    /**
     * GETs {@code path?query} at the node {@code base} and has {@code reader} read the body as it
     * comes (a PC's 4 MiB into the caller's buffers: as one array, each would be a humongous
     * allocation for G1, and a few a second set off collection cycles whose pauses stalled the
     * node's client reads for up to seconds). A failure to connect, a body that breaks off or
     * stalls, or one longer than {@code maxBytes} is {@link CopyException.Reason#SOURCE_UNREADABLE}.
     * Never follows a redirect: the source is the node api-server named, and a redirect would send
     * the peer's token to wherever that node pointed.
     */
    <T> T get(URI base, String token, String path, @Nullable String query, int maxBytes, BodyReader<T> reader) {
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
        InputStream raw;
        try {
            raw = status >= 400 ? connection.getErrorStream() : connection.getInputStream();
        } catch (IOException e) {
            deadline.cancel(false);
            throw CopyException.sourceUnreadable("reading " + uri.getPath() + " at the source: " + e.getMessage());
        }
        try (InputStream body = raw == null ? InputStream.nullInputStream() : new Limited(raw, maxBytes)) {
            T read = reader.read(status, body);
            if (body.read() >= 0) {
                throw new TooLong();
            }
            return read;
        } catch (TooLong e) {
            connection.disconnect();
            throw CopyException.sourceUnreadable(
                    "reading " + uri.getPath() + " at the source: it sent more than " + maxBytes + " bytes");
        } catch (IOException e) {
            throw CopyException.sourceUnreadable("reading " + uri.getPath() + " at the source: "
                    + (deadline.isDone()
                            ? "it sent no more within " + RangeCopier.SOURCE_TIMEOUT.toSeconds() + " s"
                            : "the body broke off: " + e.getMessage()));
        } finally {
            deadline.cancel(false);
        }
    }

    /** A body longer than the caller allowed. */
    private static final class TooLong extends IOException {
        TooLong() {
            super("the body is too long");
        }
    }

    /** A body cut at {@code max} bytes: reading past them is {@link TooLong}. */
    private static final class Limited extends java.io.FilterInputStream {

        private long left;

        Limited(InputStream in, long max) {
            super(in);
            this.left = max;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0 && left-- <= 0) {
                throw new TooLong();
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                left -= n;
                if (left < 0) {
                    throw new TooLong();
                }
            }
            return n;
        }
    }
}
