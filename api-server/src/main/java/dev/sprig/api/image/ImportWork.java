package dev.sprig.api.image;

import dev.sprig.api.SprigApiProperties;
import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.backend.StorageBackend.FileAdoption;
import dev.sprig.api.backend.StorageBackend.LcSpec;
import dev.sprig.api.cache.CacheRepository;
import dev.sprig.api.cache.ImageCache;
import dev.sprig.api.error.SprigException;
import dev.sprig.api.lineage.Lc;
import dev.sprig.api.lineage.LcRepository;
import dev.sprig.api.lineage.Resource;
import dev.sprig.api.lineage.ResourceKind;
import dev.sprig.api.lineage.ResourceRepository;
import dev.sprig.api.lineage.SizeRule;
import dev.sprig.api.operation.Operation;
import dev.sprig.api.operation.OperationProgress;
import dev.sprig.api.operation.OperationWork;
import dev.sprig.engine.ChunkEngine;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The import of one image from its source (the seed's Ymer): the source becomes a local file,
 * qemu-img reads what it is (its size; an image that names a backing file is refused), a fresh root
 * lc of that size is defined, and the image's bytes go into it, with all-zero segments left out so
 * that the image stays as sparse as its source. Where the backend keeps lcs in local files, qemu-img
 * converts the image straight into the lc's file ({@link ConvertedCopy}); otherwise qemu-nbd serves
 * it and the bytes are written through the backend ({@link NbdCopy}). Then the lc is frozen, and the
 * image becomes {@code available} in the transaction that ends the operation.
 *
 * <p>A failed import leaves no lc behind; a re-run after a crash throws away what the cut-off run
 * had stored and starts over.
 */
@Component
class ImportWork implements OperationWork {

    private final ResourceRepository resources;
    private final LcRepository lcs;
    private final ImageSourceRepository sources;
    private final SourceFetcher fetcher;
    private final StorageBackend backend;
    private final TransactionTemplate tx;
    private final ImageCache imageCache;
    private final CacheRepository cache;
    private final ConvertedCopy convertedCopy;
    private final NbdCopy nbdCopy;
    private final long maxVirtualSize;

    ImportWork(
            ResourceRepository resources,
            LcRepository lcs,
            ImageSourceRepository sources,
            SourceFetcher fetcher,
            StorageBackend backend,
            TransactionTemplate tx,
            ImageCache imageCache,
            CacheRepository cache,
            ConvertedCopy convertedCopy,
            NbdCopy nbdCopy,
            SprigApiProperties properties) {
        this.resources = resources;
        this.lcs = lcs;
        this.sources = sources;
        this.fetcher = fetcher;
        this.backend = backend;
        this.tx = tx;
        this.imageCache = imageCache;
        this.cache = cache;
        this.convertedCopy = convertedCopy;
        this.nbdCopy = nbdCopy;
        this.maxVirtualSize = properties.imageSources().maxVirtualSize().toBytes();
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
        // while the source is read, nothing is counted yet; the reports let a cancellation stop it
        try (SourceFetcher.Fetched fetched = fetcher.fetch(source, operation.id(), progress::checkpoint)) {
            long size = sizeOf(image, fetched.file(), source.format());
            if (source.format() == ImageFormat.QCOW2) {
                QemuImg.check(fetched.file(), source.format());
            }
            Optional<FileAdoption> adoption = backend.fileAdoption();
            if (adoption.isPresent() && mostlyHoles(fetched.file(), source.format(), size)) {
                adoption = Optional.empty();
            }
            long lcId = defineLc(imageId, size);
            if (adoption.isPresent()) {
                convertedCopy.copy(imageId, fetched.file(), source.format(), lcId, size, adoption.get(), progress);
            } else {
                nbdCopy.copy(imageId, fetched.file(), source.format(), lcId, size, progress);
            }
            fetched.checkUnchanged();
            backend.freeze(lcId);
        } catch (RuntimeException e) {
            imageCache.discardFilling(imageId);
            throw e;
        }
    }

    /**
     * The image's size as qemu-img reads it, checked: within bounds, the same as before if the image
     * was imported before (clones made before an eviction are gone, but its size is part of what it
     * is), and no backing or external data file, which would have the import read a file of this
     * machine that the source names.
     */
    private long sizeOf(Resource image, Path file, ImageFormat format) {
        QemuImg.Info info = QemuImg.info(file, format);
        if (info.backingFile() != null) {
            throw new ImportFailure("the image names a backing file (" + info.backingFile()
                    + "); only self-contained images can be imported");
        }
        if (info.dataFile() != null) {
            throw new ImportFailure("the image keeps its data in an external file (" + info.dataFile()
                    + "); only self-contained images can be imported");
        }
        long size = info.virtualSize();
        if (!SizeRule.allows(size)) {
            // a raw file's size is its length, which need not be whole sectors
            throw new ImportFailure(
                    "the image's size as qemu-img reads it is refused: " + SizeRule.describe("its virtual size", size));
        }
        if (size > maxVirtualSize) {
            throw new ImportFailure("the image declares " + size + " bytes; an imported image may have 1 to "
                    + maxVirtualSize + " (sprig.api.image-sources.max-virtual-size)");
        }
        if (image.sizeBytes() != null && image.sizeBytes() != size) {
            throw new ImportFailure(
                    "the source now has " + size + " bytes; image " + image.externId() + " has " + image.sizeBytes());
        }
        return size;
    }

    /**
     * Whether the image's holes (what its map says reads as zeros) are too many for
     * {@link ConvertedCopy}, whose engine reads back every byte of the converted file, holes
     * included: then the bytes go through the backend's write path ({@link NbdCopy}), which passes
     * over the holes with a question per {@link NbdCopy#SCAN} bytes, so that the import's cost
     * follows its data, not the size it declares.
     */
    private static boolean mostlyHoles(Path file, ImageFormat format, long size) {
        if (size <= CONVERT_HOLES_MAX) {
            return false;
        }
        long data = QemuImg.dataBytes(file, format, size, ChunkEngine.SEGMENT_SIZE);
        return size - data > CONVERT_HOLES_MAX;
    }

    /**
     * The holes a converted copy may read back: a few seconds' reading of a sparse file. More than
     * that and an image with little data would hold an import worker for minutes.
     */
    static final long CONVERT_HOLES_MAX = 32L << 30;

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
