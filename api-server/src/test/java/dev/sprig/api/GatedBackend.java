package dev.sprig.api;

import dev.sprig.api.backend.StorageBackend;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;

/**
 * The real backend, with flatten under the test's control: held after its first PC until the test
 * lets it go, or failing. Tests use it to look at a disk while it is flattening without racing the
 * engine. Imports can be slowed down the same way, to be cancelled midway.
 */
final class GatedBackend implements StorageBackend {

    /** A GatedBackend in place of the embedded one, for a test class that says {@code @Import(GatedBackend.Installed.class)}. */
    @TestConfiguration(proxyBeanMethods = false)
    static class Installed {
        @Bean
        @Primary
        GatedBackend gatedBackend(@Qualifier("embeddedBackend") StorageBackend embedded) {
            return new GatedBackend(embedded);
        }
    }

    private final StorageBackend real;
    private volatile @Nullable Hold hold;
    private volatile @Nullable RuntimeException failure;
    private volatile @Nullable Duration writeDelay;
    private final AtomicLong writesStarted = new AtomicLong();
    private final AtomicLong bytesWritten = new AtomicLong();

    GatedBackend(StorageBackend real) {
        this.real = real;
    }

    /** Flattens started from now on stop after their first PC (its progress reported) until released. */
    Hold holdFlattens() {
        Hold started = new Hold();
        hold = started;
        return started;
    }

    /** Flattens started from now on fail with {@code failure} before they copy anything. */
    void failFlattens(RuntimeException failure) {
        this.failure = failure;
    }

    /**
     * Imports from now on go through the backend's write path (no file adoption: qemu-nbd serves the
     * image), each write taking {@code delay} first: an import that runs long enough to be cancelled.
     */
    void slowImports(Duration delay) {
        writesStarted.set(0);
        bytesWritten.set(0);
        writeDelay = delay;
    }

    /** Writes started since {@link #slowImports}. */
    long writesStarted() {
        return writesStarted.get();
    }

    /** Bytes of the writes started since {@link #slowImports}. */
    long bytesWritten() {
        return bytesWritten.get();
    }

    void reset() {
        writeDelay = null;
        Hold current = hold;
        if (current != null) {
            current.close();
        }
        hold = null;
        failure = null;
    }

    @Override
    public long copyRange(long fromLcId, long toLcId, long offset, long length) {
        return real.copyRange(fromLcId, toLcId, offset, length);
    }

    @Override
    public List<PcRun> pcsWithData(long lcId) {
        return real.pcsWithData(lcId);
    }

    @Override
    public java.util.Optional<FileAdoption> fileAdoption() {
        return writeDelay != null ? java.util.Optional.empty() : real.fileAdoption();
    }

    @Override
    public void flatten(long lcId, FlattenProgress progress) {
        RuntimeException failing = failure;
        if (failing != null) {
            throw failing;
        }
        Hold held = hold;
        try {
            real.flatten(lcId, (done, total) -> {
                progress.pcsDone(done, total);
                if (held != null) {
                    held.pause();
                }
            });
        } finally {
            if (held != null) {
                held.ended.countDown();
            }
        }
    }

    /** One hold on flattens; closing it releases them. */
    static final class Hold implements AutoCloseable {
        private final CountDownLatch reached = new CountDownLatch(1);
        private final CountDownLatch released = new CountDownLatch(1);
        private final CountDownLatch ended = new CountDownLatch(1);

        private void pause() {
            reached.countDown();
            try {
                if (!released.await(60, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("the test never released the flatten");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        /** Waits until a flatten has done its first PC and stopped. */
        void awaitHeld() throws InterruptedException {
            if (!reached.await(30, TimeUnit.SECONDS)) {
                throw new AssertionError("no flatten reached the hold");
            }
        }

        /** Releases the flatten and waits until it has returned or thrown. */
        void releaseAndAwaitEnd() throws InterruptedException {
            close();
            if (!ended.await(30, TimeUnit.SECONDS)) {
                throw new AssertionError("the held flatten did not end");
            }
        }

        @Override
        public void close() {
            released.countDown();
        }
    }

    @Override
    public void define(List<LcSpec> lcs) {
        real.define(lcs);
    }

    @Override
    public void freeze(long lcId) {
        real.freeze(lcId);
    }

    @Override
    public void grow(long lcId, long sizeBytes) {
        real.grow(lcId, sizeBytes);
    }

    @Override
    public void delete(long lcId) {
        real.delete(lcId);
    }

    @Override
    public void write(long lcId, long offset, ByteBuffer bytes) {
        Duration delay = writeDelay;
        if (delay != null) {
            writesStarted.incrementAndGet();
            bytesWritten.addAndGet(bytes.remaining());
            try {
                Thread.sleep(delay.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        }
        real.write(lcId, offset, bytes);
    }

    @Override
    public void read(long lcId, long offset, ByteBuffer into) {
        real.read(lcId, offset, into);
    }

    @Override
    public void flush(long lcId) {
        real.flush(lcId);
    }

    @Override
    public Inventory inventory() {
        return real.inventory();
    }

    @Override
    public List<NodeAccess> placementOf(long lcId) {
        return real.placementOf(lcId);
    }
}
