package dev.sprig.api.image;

import dev.sprig.api.SprigApiProperties;
import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Makes a source's bytes a local file that qemu-nbd can open: a {@code file:} source is used where
 * it is; an {@code http(s):} source is streamed to a temporary file (qemu-nbd needs random access,
 * and a qcow2's metadata is spread over the file). The SHA-256 is computed in the same pass.
 */
@Component
class SourceFetcher {

    private static final Logger log = LoggerFactory.getLogger(SourceFetcher.class);

    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    private static final int BUFFER = 1 << 20;

    private final HttpClient http = HttpClient.newBuilder()
            .connectTimeout(CONNECT_TIMEOUT)
            // each redirect's target is checked before it is asked (SourcePolicy.checkHop)
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
    private final Path tempDir;
    private final Duration stallTimeout;
    private final SourcePolicy policy;
    private final long maxDownload;
    private final int maxRedirects;
    /** Closes downloads that stopped sending: a blocked read has no timeout of its own. */
    private final ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(work -> {
        Thread thread = new Thread(work, "import-download-watchdog");
        thread.setDaemon(true);
        return thread;
    });

    SourceFetcher(SprigApiProperties properties, SourcePolicy policy) {
        SprigApiProperties.ImageSources settings = properties.imageSources();
        this.stallTimeout = settings.stallTimeout();
        this.tempDir = settings.downloadDir().toAbsolutePath();
        this.policy = policy;
        this.maxDownload = settings.maxDownloadSize().toBytes();
        this.maxRedirects = settings.maxRedirects();
    }

    @PreDestroy
    void stop() {
        watchdog.shutdownNow();
    }

    /**
     * The source as a local file, to be closed when the import is done with it (removing a download).
     * {@code checkpoint} runs after each piece read; when it throws (the import was cancelled), the
     * read stops there, the connection is closed and a partial download removed.
     */
    Fetched fetch(ImageSource source, String operationId, Runnable checkpoint) {
        if (source.url().regionMatches(true, 0, "file:", 0, 5)) {
            return local(source, checkpoint);
        }
        return download(source, tempDir.resolve("sprig-import-" + operationId + ".part"), checkpoint);
    }

    /**
     * A local copy of the source; {@code temporary} ones are deleted on close. {@code identity} is a
     * file source's file key (device and inode), null for a download.
     */
    record Fetched(Path file, boolean temporary, @Nullable Object identity) implements AutoCloseable {

        /**
         * Fails unless the file at {@link #file} is still the one checked when it was fetched: a
         * source directory whose entries were swapped meanwhile (for a link to a file outside) could
         * have had qemu-img read another file.
         */
        void checkUnchanged() {
            if (identity == null) {
                return;
            }
            try {
                Object now = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                        .fileKey();
                if (identity.equals(now)) {
                    return;
                }
            } catch (IOException e) {
                // gone: the same answer as replaced
            }
            throw new ImportFailure("the source file " + file + " was replaced while it was imported");
        }

        @Override
        public void close() {
            if (temporary) {
                try {
                    Files.deleteIfExists(file);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
    }

    /**
     * The file at its real path, checked against the allowed directories again now (the source was
     * checked when it was registered, but the import may run much later). qemu-img and qemu-nbd get
     * that real path, which holds no symbolic link; the file is read here without following one, and
     * must still be the same file once the import has read it ({@link Fetched#checkUnchanged}).
     */
    private Fetched local(ImageSource source, Runnable checkpoint) {
        Path file = policy.file(source.url());
        Object identity;
        MessageDigest digest = sha256();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            identity = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                    .fileKey();
            if (source.sha256() != null) {
                ByteBuffer buffer = ByteBuffer.allocate(BUFFER);
                while (channel.read(buffer) > 0) {
                    buffer.flip();
                    digest.update(buffer);
                    buffer.clear();
                    checkpoint.run();
                }
            }
        } catch (IOException e) {
            log.warn("reading the file source {} failed", file, e);
            throw new ImportFailure("reading the source " + source.url() + " failed", e);
        }
        verify(source.sha256(), digest);
        return new Fetched(file, false, identity);
    }

    private Fetched download(ImageSource source, Path part, Runnable checkpoint) {
        try {
            Files.createDirectories(part.getParent());
        } catch (IOException e) {
            throw new ImportFailure("the download directory " + part.getParent() + " cannot be created: " + e, e);
        }
        HttpResponse<InputStream> response = open(source.url());
        long expected = response.headers().firstValueAsLong("Content-Length").orElse(-1);
        if (expected > maxDownload) {
            closeQuietly(response.body());
            throw new ImportFailure("the source declares " + expected + " bytes; a download may have at most "
                    + maxDownload + " (sprig.api.image-sources.max-download-size)");
        }
        MessageDigest digest = sha256();
        long received = 0;
        boolean complete = false;
        AtomicLong lastArrival = new AtomicLong(System.nanoTime());
        AtomicBoolean stalled = new AtomicBoolean();
        InputStream body = response.body();
        Thread reader = Thread.currentThread();
        long checkEvery = Math.max(100, stallTimeout.toMillis() / 4);
        ScheduledFuture<?> watch = watchdog.scheduleWithFixedDelay(
                () -> {
                    if (System.nanoTime() - lastArrival.get() > stallTimeout.toNanos()
                            && stalled.compareAndSet(false, true)) {
                        // a read blocked waiting for data wakes only when interrupted
                        closeQuietly(body);
                        reader.interrupt();
                    }
                },
                checkEvery,
                checkEvery,
                TimeUnit.MILLISECONDS);
        try (InputStream in = body;
                OutputStream out = Files.newOutputStream(part)) {
            byte[] buffer = new byte[BUFFER];
            for (int n; (n = in.read(buffer)) > 0; ) {
                lastArrival.set(System.nanoTime());
                if (received + n > maxDownload) {
                    throw new ImportFailure("the source sent more than " + maxDownload
                            + " bytes; a download may have at most that (sprig.api.image-sources.max-download-size)");
                }
                digest.update(buffer, 0, n);
                out.write(buffer, 0, n);
                received += n;
                checkpoint.run();
            }
            complete = !stalled.get();
        } catch (IOException e) {
            if (stalled.get()) {
                deleteQuietly(part);
                throw new ImportFailure(
                        "the source sent nothing for " + stallTimeout.toSeconds() + " s after " + received + " bytes",
                        e);
            }
            // the JDK client throws when a body ends before its Content-Length; say it plainly
            if (expected < 0 || received >= expected) {
                deleteQuietly(part);
                log.warn("reading the source {} failed after {} bytes", source.url(), received, e);
                throw new ImportFailure("reading the source failed after " + received + " bytes", e);
            }
        } catch (RuntimeException e) {
            deleteQuietly(part);
            throw e;
        } finally {
            watch.cancel(false);
            if (stalled.get()) {
                Thread.interrupted(); // the interrupt was the watchdog's, not a shutdown's
            }
        }
        if (stalled.get()) {
            deleteQuietly(part);
            throw new ImportFailure(
                    "the source sent nothing for " + stallTimeout.toSeconds() + " s after " + received + " bytes");
        }
        if (!complete || (expected >= 0 && received < expected)) {
            deleteQuietly(part);
            throw new ImportFailure("the source ended after " + received + " of " + expected + " bytes");
        }
        try {
            verify(source.sha256(), digest);
        } catch (RuntimeException e) {
            deleteQuietly(part);
            throw e;
        }
        return new Fetched(part, true, null);
    }

    /**
     * The source's {@code 200} response, its body not yet read: redirects are followed here, at most
     * {@code max-redirects} of them, each target checked like the source before it is asked. What
     * went wrong is logged; the import's error says only that the source was refused or failed, and
     * the class of its status, never what the host answered or how a connection failed (which would
     * tell a caller which internal ports are open).
     */
    private HttpResponse<InputStream> open(String url) {
        URI at;
        try {
            at = new URI(url);
        } catch (URISyntaxException e) {
            throw new ImportFailure("the source was refused: " + url + " is not a URL", e);
        }
        for (int hop = 0; ; hop++) {
            policy.checkHop(at);
            HttpResponse<InputStream> response = send(at);
            int status = response.statusCode();
            if (status == 200) {
                return response;
            }
            closeQuietly(response.body());
            boolean redirect = status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
            if (!redirect) {
                log.warn("the source {} answered {} (import of {})", at, status, url);
                throw new ImportFailure("the source failed: it answered " + status / 100 + "xx");
            }
            Optional<String> location = response.headers().firstValue("Location");
            if (location.isEmpty()) {
                log.warn("the source {} answered {} without a Location", at, status);
                throw new ImportFailure("the source failed: it answered a redirect to nowhere");
            }
            if (hop >= maxRedirects) {
                throw new ImportFailure("the source failed: more than " + maxRedirects
                        + " redirects (sprig.api.image-sources.max-redirects)");
            }
            try {
                at = at.resolve(new URI(location.get()));
            } catch (URISyntaxException | IllegalArgumentException e) {
                log.warn("the source {} redirected to a malformed location {}", at, location.get());
                throw new ImportFailure("the source failed: it redirected to something that is not a URL", e);
            }
        }
    }

    private HttpResponse<InputStream> send(URI uri) {
        try {
            return http.send(
                    HttpRequest.newBuilder(uri).timeout(stallTimeout).GET().build(),
                    HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            // refused, reset, timed out: all one to the client
            log.warn("asking the source {} failed: {}", uri, describe(e));
            throw new ImportFailure("the source failed: no answer from " + uri.getHost(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ImportFailure("the import was interrupted", e);
        }
    }

    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException ignored) {
            // the reader sees the stream closed either way
        }
    }

    private static void verify(@Nullable String expected, MessageDigest digest) {
        if (expected == null) {
            return;
        }
        String got = HexFormat.of().formatHex(digest.digest());
        if (!got.equals(expected)) {
            throw new ImportFailure("sha256 mismatch: expected " + expected + ", got " + got);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }

    /** The JDK's client often throws with no message of its own (a refused connection); its cause says what happened. */
    private static String describe(Exception e) {
        for (Throwable at = e; at != null; at = at.getCause()) {
            if (at.getMessage() != null && !at.getMessage().isBlank()) {
                return at.getClass().getSimpleName() + ": " + at.getMessage();
            }
        }
        return e.getClass().getSimpleName();
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // a leftover .part file under the temp dir is harmless; the import's own error matters
        }
    }
}
