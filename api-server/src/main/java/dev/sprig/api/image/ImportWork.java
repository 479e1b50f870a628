package dev.sprig.api.image;

import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.backend.StorageBackend.LcSpec;
import dev.sprig.api.cache.CacheRepository;
import dev.sprig.api.cache.ImageCache;
import dev.sprig.api.cache.NonZeroRuns;
import dev.sprig.api.error.SprigException;
import dev.sprig.api.lineage.Lc;
import dev.sprig.api.lineage.LcRepository;
import dev.sprig.api.lineage.Resource;
import dev.sprig.api.lineage.ResourceKind;
import dev.sprig.api.lineage.ResourceRepository;
import dev.sprig.api.operation.Operation;
import dev.sprig.api.operation.OperationProgress;
import dev.sprig.api.operation.OperationWork;
import dev.sprig.nbd.Nbd;
import dev.sprig.nbd.client.NbdClient;
import dev.sprig.nbd.server.Extents;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The import of one image from its source (the seed's Ymer): the source becomes a local file, a
 * read-only qemu-nbd serves it (raw or qcow2), and its bytes go into a fresh root lc in whole
 * segments, with the ranges qemu-nbd reports as zero and the segments that read as all zeros
 * skipped, so that the image stays as sparse as its source. Then the lc is flushed and frozen, and
 * the image becomes {@code available} in the transaction that ends the operation.
 *
 * <p>Nothing is held in memory but one window per reader ({@link #READERS} of {@link #WINDOW}
 * bytes). A failed import leaves no lc behind; a re-run after a crash throws away what the cut-off
 * run had stored and starts over.
 */
@Component
class ImportWork implements OperationWork {

    /** How much of the export one block-status question covers: one PC. */
    static final long STEP = 4L << 20;
    /** How much one reader reads before its data is reserved in the cache and written: four PCs. */
    static final int WINDOW = 16 << 20;
    /** Connections reading from qemu-nbd at once. */
    static final int READERS = Integer.getInteger("x.readers", 4);

    static final int READ_MAX = Integer.getInteger("x.readmax", 1 << 20);

    private final ResourceRepository resources;
    private final LcRepository lcs;
    private final ImageSourceRepository sources;
    private final SourceFetcher fetcher;
    private final StorageBackend backend;
    private final TransactionTemplate tx;
    private final ImageCache imageCache;
    private final CacheRepository cache;

    ImportWork(
            ResourceRepository resources,
            LcRepository lcs,
            ImageSourceRepository sources,
            SourceFetcher fetcher,
            StorageBackend backend,
            TransactionTemplate tx,
            ImageCache imageCache,
            CacheRepository cache) {
        this.resources = resources;
        this.lcs = lcs;
        this.sources = sources;
        this.fetcher = fetcher;
        this.backend = backend;
        this.tx = tx;
        this.imageCache = imageCache;
        this.cache = cache;
    }

    @Override
    public Operation.Kind kind() {
        return Operation.Kind.IMPORT;
    }

    @Override
    public void perform(Operation operation, OperationProgress progress) {
        String imageId = operation.targetId();
        Resource image = importable(resources.find(imageId, ResourceKind.IMAGE).orElse(null), imageId);
        ImageSource source =
                sources.find(imageId).orElseThrow(() -> SprigException.notFound("the source of image " + imageId));
        imageCache.discardFilling(imageId);
        try (SourceFetcher.Fetched fetched = fetcher.fetch(source, operation.id());
                QemuNbd server = QemuNbd.serve(fetched.file(), source.format())) {
            copyInto(image, server, progress);
        } catch (RuntimeException e) {
            imageCache.discardFilling(imageId);
            throw e;
        }
    }

    /** Learns the size from the export, defines the lc, copies, and makes the lc durable and read-only. */
    private void copyInto(Resource image, QemuNbd server, OperationProgress progress) {
        String imageId = image.externId();
        try (NbdClient nbd = NbdClient.open("127.0.0.1", server.port(), "")) {
            long size = nbd.sizeBytes();
            if (size <= 0 || size > ImageService.MAX_SIZE) {
                throw new ImportFailure("the image has " + size + " bytes; an image has 1 to " + ImageService.MAX_SIZE);
            }
            if (image.sizeBytes() != null && image.sizeBytes() != size) {
                // clones made before an eviction are gone, but the image's size is part of what it is
                throw new ImportFailure(
                        "the source now has " + size + " bytes; image " + imageId + " has " + image.sizeBytes());
            }
            long lcId = defineLc(imageId, size);
            copy(imageId, server, lcId, size, progress);
            backend.flush(lcId);
            backend.freeze(lcId);
        } catch (IOException e) {
            throw server.failure(e);
        }
    }

    @Override
    public Runnable succeed(Operation operation) {
        Resource image = importable(
                resources.lock(operation.targetId(), ResourceKind.IMAGE).orElse(null), operation.targetId());
        long lcId = cache.filling(image.externId())
                .orElseThrow(() -> new IllegalStateException("image " + image.externId() + " has no copy filled"));
        long stored = cache.storedBytes(lcId);
        lcs.freeze(lcId);
        cache.markReady(lcId, stored);
        cache.imported(stored);
        resources.setLc(image.externId(), lcId);
        resources.setBytesReceived(image.externId(), Objects.requireNonNull(image.sizeBytes()));
        resources.setState(image.externId(), "available", null);
        return () -> {};
    }

    /**
     * A first import that failed leaves the image in {@code error}; a re-import of an evicted image
     * leaves it {@code available} and uncached, with the reason, so that a later clone tries again.
     */
    @Override
    public void fail(Operation operation, String error) {
        resources.lock(operation.targetId(), ResourceKind.IMAGE).ifPresent(image -> {
            if (image.state().equals("importing")) {
                resources.setState(image.externId(), "error", error);
            } else if (image.state().equals("available") && image.lcId() == null) {
                resources.setState(image.externId(), "available", error);
            }
        });
    }

    /**
     * A fresh root lc of the learned size, in the database and the backend, before any byte is
     * written; the cache's copy it fills holds nothing yet.
     */
    private long defineLc(String imageId, long size) {
        List<Long> stale = new ArrayList<>();
        long lcId = Objects.requireNonNull(tx.execute(status -> {
            importable(resources.lock(imageId, ResourceKind.IMAGE).orElse(null), imageId);
            long id = lcs.nextId();
            lcs.insertAll(List.of(Lc.root(id, size)));
            Long replaced = imageCache.startFilling(imageId, id);
            if (replaced != null) {
                stale.add(replaced);
            }
            resources.setSize(imageId, size);
            resources.setBytesReceived(imageId, 0);
            backend.define(List.of(new LcSpec(id, null, id, size, false)));
            return id;
        }));
        imageCache.deleteFromStorage(stale);
        return lcId;
    }

    /**
     * {@link #READERS} threads, each with its own connection to qemu-nbd, take windows of PCs in turn
     * and copy them (qemu-nbd answers one request on a connection at a time, and reading a qcow2 one
     * request after another leaves most of the machine idle). The first failure stops the others
     * after their current window, and is thrown.
     */
    private void copy(String imageId, QemuNbd server, long lcId, long size, OperationProgress progress) {
        long windows = (size + WINDOW - 1) / WINDOW;
        AtomicLong next = new AtomicLong();
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
                            for (long w = next.getAndIncrement();
                                    w < windows && !failed.get();
                                    w = next.getAndIncrement()) {
                                long start = w * WINDOW;
                                long length = Math.min(WINDOW, size - start);
                                copyWindow(imageId, nbd, lcId, size, start, length, window);
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
     * One window: for each PC ask which ranges are zero and read each run of segments that are not
     * in one request; then reserve in the cache exactly the segments that do not read as all zeros,
     * and write them, adjacent ones together (the last may be short when the size is not a segment
     * multiple).
     */
    private void copyWindow(
            String imageId, NbdClient nbd, long lcId, long size, long start, long windowLength, ByteBuf window)
            throws IOException {
        int segment = ImageService.SEGMENT;
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
        int segment = ImageService.SEGMENT;
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

    /**
     * The image, which an import may fill: one registered from its source ({@code importing} until
     * its import ends), or one that is available with no copy (evicted from the cache).
     */
    private static Resource importable(@Nullable Resource image, String imageId) {
        if (image == null) {
            throw SprigException.notFound("image " + imageId);
        }
        boolean evicted = image.state().equals("available") && image.lcId() == null;
        if (!image.state().equals("importing") && !evicted) {
            throw SprigException.invalidState("image " + imageId + " is " + image.state()
                    + (image.lcId() != null ? " and cached" : "") + "; there is nothing to import");
        }
        return image;
    }
}
