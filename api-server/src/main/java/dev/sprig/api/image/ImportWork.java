package dev.sprig.api.image;

import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.backend.StorageBackend.LcSpec;
import dev.sprig.api.cache.CacheRepository;
import dev.sprig.api.cache.ImageCache;
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
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The import of one image from its source (the seed's Ymer): the source becomes a local file, a
 * read-only qemu-nbd serves it (raw or qcow2), and its bytes go into a fresh root lc in whole
 * segments, with the ranges qemu-nbd reports as zero and the segments that read as all zeros
 * skipped, so that the image stays as sparse as its source. Then the lc is flushed and frozen, and
 * the image becomes {@code available} in the transaction that ends the operation.
 *
 * <p>Nothing is held in memory but one segment. A failed import leaves no lc behind; a re-run after
 * a crash throws away what the cut-off run had stored and starts over.
 */
@Component
class ImportWork implements OperationWork {

    /** How much of the export one block-status question covers: one PC. */
    static final long STEP = 4L << 20;
    /** How much is read before its data is reserved in the cache and written: eight PCs. */
    static final int WINDOW = 32 << 20;

    private static final Logger log = LoggerFactory.getLogger(ImportWork.class);
    private static final ByteBuffer ZERO_SEGMENT = ByteBuffer.allocateDirect(ImageService.SEGMENT);

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
        discardFilling(imageId);
        try (SourceFetcher.Fetched fetched = fetcher.fetch(source, operation.id());
                QemuNbd server = QemuNbd.serve(fetched.file(), source.format())) {
            copyInto(image, server, progress);
        } catch (RuntimeException e) {
            discardFilling(imageId);
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
            copy(imageId, nbd, lcId, size, progress);
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
        return Objects.requireNonNull(tx.execute(status -> {
            importable(resources.lock(imageId, ResourceKind.IMAGE).orElse(null), imageId);
            long id = lcs.nextId();
            lcs.insertAll(List.of(Lc.root(id, size)));
            cache.insertFilling(id, imageId, 0);
            resources.setSize(imageId, size);
            resources.setBytesReceived(imageId, 0);
            backend.define(List.of(new LcSpec(id, null, id, size, false)));
            return id;
        }));
    }

    /**
     * Makes room in the cache for {@code bytes} more of the copy, before they are written: evicts
     * what it must (removed from storage once that has committed), or refuses with CACHE_FULL.
     */
    private void reserve(String imageId, long lcId, long bytes) {
        List<Long> evicted = Objects.requireNonNull(tx.execute(status -> {
            List<Long> made = imageCache.makeRoom(imageId, bytes);
            cache.addStoredBytes(lcId, bytes);
            return made;
        }));
        imageCache.deleteFromStorage(evicted);
    }

    /**
     * Removes the copy an earlier or the current run of the import was filling: from the database
     * first (so that no one can reach it), then from the backend, best effort (what a failed delete
     * leaves is storage nothing refers to, which the reconciler removes).
     */
    private void discardFilling(String imageId) {
        Long lcId = tx.execute(status -> {
            Resource image = resources.lock(imageId, ResourceKind.IMAGE).orElse(null);
            if (image == null) {
                return null;
            }
            Long filling = cache.filling(imageId).orElse(null);
            if (filling == null && image.state().equals("importing") && image.lcId() != null) {
                // an import cut off before the cache existed pointed the image at its lc at once
                filling = image.lcId();
                resources.setLc(imageId, null);
            }
            if (filling == null) {
                return null;
            }
            resources.setBytesReceived(imageId, 0);
            lcs.delete(filling);
            return filling;
        });
        if (lcId != null) {
            try {
                backend.delete(lcId);
            } catch (RuntimeException e) {
                log.warn("Import of {}: lc {} could not be removed from storage", imageId, lcId, e);
            }
        }
    }

    /**
     * A window of PCs at a time: for each PC ask which ranges are zero and read each run of segments
     * that are not in one request; then reserve in the cache exactly the segments that do not read
     * as all zeros, and write them, adjacent ones together (the last may be short when the size is
     * not a segment multiple). The window bounds both the memory held and the cache transactions.
     */
    private void copy(String imageId, NbdClient nbd, long lcId, long size, OperationProgress progress)
            throws IOException {
        int segment = ImageService.SEGMENT;
        ByteBuf window = Unpooled.directBuffer(WINDOW);
        List<long[]> writes = new ArrayList<>();
        try {
            for (long start = 0; start < size; start += WINDOW) {
                long windowLength = Math.min(WINDOW, size - start);
                writes.clear();
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
                        check(nbd.read(offset, want, window), "read", offset);
                        bytes += nonZeroRuns(window.nioBuffer(0, WINDOW), at, want, writes);
                    }
                }
                if (bytes > 0) {
                    reserve(imageId, lcId, bytes);
                }
                for (long[] write : writes) {
                    backend.write(lcId, start + write[0], window.nioBuffer((int) write[0], (int) write[1]));
                }
                progress.report(start + windowLength, size);
            }
        } finally {
            window.release();
        }
    }

    /**
     * Adds to {@code runs} the segments of {@code [at, at + length)} in {@code window} that are not
     * all zeros, adjacent ones as one run of {@code {offset, length}}.
     *
     * @return the bytes in the runs added
     */
    private static long nonZeroRuns(ByteBuffer window, int at, int length, List<long[]> runs) {
        int segment = ImageService.SEGMENT;
        int end = at + length;
        long total = 0;
        int position = at;
        while (position < end) {
            if (allZero(window, position, Math.min(segment, end - position))) {
                position += segment;
                continue;
            }
            int from = position;
            while (position < end && !allZero(window, position, Math.min(segment, end - position))) {
                position = Math.min(position + segment, end);
            }
            runs.add(new long[] {from, position - from});
            total += position - from;
        }
        return total;
    }

    private static boolean allZero(ByteBuffer buffer, int from, int length) {
        return buffer.slice(from, length).mismatch(ZERO_SEGMENT.slice(0, length)) == -1;
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
