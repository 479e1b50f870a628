package dev.sprig.api.image;

import dev.sprig.api.SprigApiProperties;
import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.springframework.stereotype.Component;

/**
 * Makes a source's bytes a local file that qemu-nbd can open: a {@code file:} source is used where
 * it is; an {@code http(s):} source is streamed to a temporary file (qemu-nbd needs random access,
 * and a qcow2's metadata is spread over the file). The SHA-256 is computed in the same pass.
 */
@Component
class SourceFetcher {

    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    private static final int BUFFER = 1 << 20;

    private final HttpClient http = HttpClient.newBuilder()
            .connectTimeout(CONNECT_TIMEOUT)
            .followRedirects(HttpClient.Redirect.NORMAL)
            .build();
    private final Path tempDir;
    private final Duration stallTimeout;
    /** Closes downloads that stopped sending: a blocked read has no timeout of its own. */
    private final ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(work -> {
        Thread thread = new Thread(work, "import-download-watchdog");
        thread.setDaemon(true);
        return thread;
    });

    SourceFetcher(SprigApiProperties properties) {
        this.stallTimeout = properties.imageSources().stallTimeout();
        this.tempDir = properties.imageSources().downloadDir().toAbsolutePath();
    }

    @PreDestroy
    void stop() {
        watchdog.shutdownNow();
    }

    /** The source as a local file, to be closed when the import is done with it (removing a download). */
    Fetched fetch(ImageSource source, String operationId) {
        if (source.url().startsWith("file:")) {
            return local(source);
        }
        return download(source, tempDir.resolve("sprig-import-" + operationId + ".part"));
    }

    /** A local copy of the source; {@code temporary} ones are deleted on close. */
    record Fetched(Path file, boolean temporary) implements AutoCloseable {
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

    private Fetched local(ImageSource source) {
        Path file;
        try {
            file = Path.of(URI.create(source.url()));
        } catch (IllegalArgumentException e) {
            throw new ImportFailure("no file at " + source.url() + ": " + e.getMessage(), e);
        }
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw new ImportFailure("no file at " + file);
        }
        if (source.sha256() != null) {
            MessageDigest digest = sha256();
            try (InputStream in = Files.newInputStream(file)) {
                byte[] buffer = new byte[BUFFER];
                for (int n; (n = in.read(buffer)) > 0; ) {
                    digest.update(buffer, 0, n);
                }
            } catch (IOException e) {
                throw new ImportFailure("reading " + file + " failed: " + e.getMessage(), e);
            }
            verify(source.sha256(), digest);
        }
        return new Fetched(file, false);
    }

    private Fetched download(ImageSource source, Path part) {
        try {
            Files.createDirectories(part.getParent());
        } catch (IOException e) {
            throw new ImportFailure("the download directory " + part.getParent() + " cannot be created: " + e, e);
        }
        HttpResponse<InputStream> response;
        try {
            response = http.send(
                    HttpRequest.newBuilder(URI.create(source.url()))
                            .timeout(stallTimeout)
                            .GET()
                            .build(),
                    HttpResponse.BodyHandlers.ofInputStream());
        } catch (java.net.http.HttpTimeoutException e) {
            throw new ImportFailure("the source did not answer within " + stallTimeout.toSeconds() + " s", e);
        } catch (IOException e) {
            URI url = URI.create(source.url());
            throw new ImportFailure("the source is unreachable: " + describe(e) + " (" + url.getAuthority() + ")", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ImportFailure("the import was interrupted", e);
        }
        long expected = response.headers().firstValueAsLong("Content-Length").orElse(-1);
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
            if (response.statusCode() != 200) {
                throw new ImportFailure("the source answered " + response.statusCode());
            }
            byte[] buffer = new byte[BUFFER];
            for (int n; (n = in.read(buffer)) > 0; ) {
                lastArrival.set(System.nanoTime());
                digest.update(buffer, 0, n);
                out.write(buffer, 0, n);
                received += n;
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
                throw new ImportFailure("reading the source failed: " + describe(e), e);
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
        return new Fetched(part, true);
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
