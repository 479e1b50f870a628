package dev.sprig.api.image;

import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.cache.ImageCache;
import dev.sprig.api.operation.OperationProgress;
import dev.sprig.engine.ChunkEngine;
import dev.sprig.nbd.Nbd;
import dev.sprig.nbd.client.NbdClient;
import dev.sprig.nbd.server.Extents;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.springframework.stereotype.Component;

/**
 * Copies an image into its lc through the backend's write path, for backends whose lcs live on
 * remote nodes: a read-only qemu-nbd serves the file (raw or qcow2), and its bytes go into the lc in
 * whole segments, with the ranges qemu-nbd reports as zero and the segments that read as all zeros
 * skipped, so that the image stays as sparse as its source. Each window's data is reserved in the
 * cache before it is written. Nothing is held in memory but one window per reader
 * ({@link #READERS} of {@link #WINDOW} bytes).
 */
@Component
class NbdCopy {

    /** How much of the export one block-status question covers: one PC. */
    static final long STEP = ChunkEngine.PC_SIZE;
    /** How much one reader reads before its data is reserved in the cache and written: four PCs. */
    static final int WINDOW = (int) (4 * ChunkEngine.PC_SIZE);
    /** Connections reading from qemu-nbd at once. */
    static final int READERS = 4;
    /** The largest read asked of qemu-nbd, which answers 4 MiB requests markedly slower than 1 MiB ones. */
    static final int READ_MAX = 1 << 20;
    /**
     * How much one block-status question that looks for the next data covers: the most an NBD
     * request may (its length is 32 bits), in whole windows.
     */
    static final long SCAN = 0xFFFF_FFFFL & -WINDOW;

    private final StorageBackend backend;
    private final ImageCache imageCache;

    NbdCopy(StorageBackend backend, ImageCache imageCache) {
        this.backend = backend;
        this.imageCache = imageCache;
    }

    /** Copies the image in {@code file} into the empty lc {@code lcId} of {@code size} bytes and flushes it. */
    void copy(String imageId, Path file, ImageFormat format, long lcId, long size, OperationProgress progress) {
        try (QemuNbd server = QemuNbd.serve(file, format)) {
            copy(imageId, server, lcId, size, progress);
        }
        backend.flush(lcId);
    }

    /**
     * {@link #READERS} threads, each with its own connection to qemu-nbd, take windows of PCs in turn
     * and copy them (qemu-nbd answers one request on a connection at a time, and reading a qcow2 one
     * request after another leaves most of the machine idle). The first failure stops the others
     * after their current window, and is thrown.
     */
    private void copy(String imageId, QemuNbd server, long lcId, long size, OperationProgress progress) {
        long windows = (size + WINDOW - 1) / WINDOW;
        NextWindow next = new NextWindow(windows, size);
        AtomicLong copied = new AtomicLong();
        AtomicBoolean failed = new AtomicBoolean();
        ExecutorService readers = Executors.newFixedThreadPool(READERS, work -> {
            Thread thread = new Thread(work, "import-" + imageId);
            thread.setDaemon(true);
            return thread;
        });
        try {
            List<Future<?>> running = new ArrayList<>();
            for (int r = 0; r < READERS; r++) {
                running.add(readers.submit(() -> {
                    try (NbdClient nbd = NbdClient.open("127.0.0.1", server.port(), "")) {
                        ByteBuf window = Unpooled.directBuffer(WINDOW);
                        try {
                            for (long w = next.claim(nbd, copied, progress);
                                    w < windows && !failed.get();
                                    w = next.claim(nbd, copied, progress)) {
                                long start = w * WINDOW;
                                long length = Math.min(WINDOW, size - start);
                                copyWindow(imageId, nbd, lcId, size, start, length, window, () -> {
                                    synchronized (progress) {
                                        progress.report(copied.get(), size);
                                    }
                                });
                                long done = copied.addAndGet(length);
                                synchronized (progress) {
                                    progress.report(done, size);
                                }
                            }
                        } finally {
                            window.release();
                        }
                    } catch (IOException e) {
                        failed.set(true);
                        throw server.failure(e);
                    } catch (RuntimeException e) {
                        failed.set(true);
                        throw e;
                    }
                    return null;
                }));
            }
            RuntimeException first = null;
            for (Future<?> reader : running) {
                try {
                    reader.get();
                } catch (ExecutionException e) {
                    if (first == null) {
                        first = e.getCause() instanceof RuntimeException cause
                                ? cause
                                : new ImportFailure("the import failed: " + e.getCause(), e.getCause());
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    failed.set(true);
                    throw new ImportFailure("the import was interrupted", e);
                }
            }
            if (first != null) {
                throw first;
            }
        } finally {
            readers.shutdownNow();
        }
    }

    /**
     * Hands out the windows that may hold data, in order: where qemu-nbd says the image reads as
     * zeros for whole windows from the next one, those are passed over with one block-status
     * question per {@link #SCAN} bytes, so that an image declaring terabytes with little data
     * costs what its data costs, not a question per PC of its size.
     */
    private static final class NextWindow {

        private final long windows;
        private final long size;
        private long next;

        NextWindow(long windows, long size) {
            this.windows = windows;
            this.size = size;
        }

        /** The next window to copy, or {@code windows} when none is left; skipped ones count as copied. */
        synchronized long claim(NbdClient nbd, AtomicLong copied, OperationProgress progress) throws IOException {
            while (next < windows) {
                long start = next * WINDOW;
                Extents extents = new Extents();
                check(nbd.allocation(start, Math.min(SCAN, size - start), extents), "block status", start);
                if (extents.count() == 0 || (extents.flags(0) & Nbd.STATE_ZERO) == 0) {
                    return next++;
                }
                long zeroWindows = Math.min(windows - next, extents.length(0) / WINDOW);
                if (start + extents.length(0) >= size) {
                    zeroWindows = windows - next; // zeros to the end, a short last window included
                }
                if (zeroWindows == 0) {
                    return next++;
                }
                next += zeroWindows;
                long done = copied.addAndGet(Math.min(size, next * WINDOW) - start);
                synchronized (progress) {
                    progress.report(done, size);
                }
            }
            return windows;
        }
    }

    /**
     * One window: for each PC ask which ranges are zero and read each run of segments that are not
     * in one request; then reserve in the cache exactly the segments that do not read as all zeros,
     * and write them, adjacent ones together (the last may be short when the size is not a segment
     * multiple). Before each write the progress so far is passed on again ({@code checkpoint}), so
     * that a cancelled import stops within a write, not a window.
     */
    private void copyWindow(
            String imageId,
            NbdClient nbd,
            long lcId,
            long size,
            long start,
            long windowLength,
            ByteBuf window,
            Runnable checkpoint)
            throws IOException {
        int segment = ChunkEngine.SEGMENT_SIZE;
        List<long[]> writes = new ArrayList<>();
        long bytes = 0;
        for (long step = start; step < start + windowLength; step += STEP) {
            long length = Math.min(STEP, size - step);
            boolean[] data = dataSegments(nbd, step, length);
            int s = 0;
            while (s < data.length) {
                if (!data[s]) {
                    s++;
                    continue;
                }
                int first = s;
                while (s < data.length && data[s]) {
                    s++;
                }
                long offset = step + (long) first * segment;
                int want = (int) Math.min((long) (s - first) * segment, size - offset);
                int at = (int) (offset - start);
                window.writerIndex(at);
                for (int part = 0; part < want; part += READ_MAX) {
                    int piece = Math.min(READ_MAX, want - part);
                    check(nbd.read(offset + part, piece, window), "read", offset + part);
                }
                bytes += NonZeroRuns.find(window.nioBuffer(0, WINDOW), at, want, writes);
            }
        }
        if (bytes > 0) {
            imageCache.reserve(imageId, lcId, bytes);
        }
        for (long[] write : writes) {
            checkpoint.run();
            backend.write(lcId, start + write[0], window.nioBuffer((int) write[0], (int) write[1]));
        }
    }

    /** Which segments of {@code [start, start + length)} hold anything but zeros, by block status. */
    private static boolean[] dataSegments(NbdClient nbd, long start, long length) throws IOException {
        Extents extents = new Extents();
        while (extents.covered() < length) {
            long before = extents.covered();
            check(nbd.allocation(start + before, length - before, extents), "block status", start + before);
            if (extents.covered() == before) {
                // no answer for the rest: read it, which is always correct
                extents.add(length - before, 0);
            }
        }
        int segment = ChunkEngine.SEGMENT_SIZE;
        boolean[] data = new boolean[(int) ((length + segment - 1) / segment)];
        long at = 0;
        for (int i = 0; i < extents.count(); i++) {
            long end = Math.min(length, at + extents.length(i));
            if ((extents.flags(i) & Nbd.STATE_ZERO) == 0 && end > at) {
                for (int s = (int) (at / segment); s <= (end - 1) / segment; s++) {
                    data[s] = true;
                }
            }
            at = end;
        }
        return data;
    }

    private static void check(int error, String what, long offset) {
        if (error != 0) {
            throw new ImportFailure("qemu-nbd answered NBD error " + error + " to a " + what + " at " + offset);
        }
    }
}
