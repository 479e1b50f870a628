package dev.sprig.api.image;

import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.backend.StorageBackend.LcSpec;
import dev.sprig.api.cache.CacheRepository;
import dev.sprig.api.cache.ImageCopy;
import dev.sprig.api.database.Transactions;
import dev.sprig.api.error.SprigException;
import dev.sprig.api.lineage.ExternIds;
import dev.sprig.api.lineage.Labels;
import dev.sprig.api.lineage.Lc;
import dev.sprig.api.lineage.LcRepository;
import dev.sprig.api.lineage.Resource;
import dev.sprig.api.lineage.ResourceFilter;
import dev.sprig.api.lineage.ResourceKind;
import dev.sprig.api.lineage.ResourcePage;
import dev.sprig.api.lineage.ResourceRepository;
import dev.sprig.api.lineage.SizeRule;
import dev.sprig.api.operation.Operation;
import dev.sprig.api.operation.OperationRepository;
import dev.sprig.api.operation.OperationRunner;
import dev.sprig.api.paging.PageCursor;
import dev.sprig.engine.ChunkEngine;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.stereotype.Service;

/**
 * Images and their content. An image is created empty ({@code queued}); an upload streams its bytes
 * into a fresh root lc ({@code importing}), then the lc is flushed and frozen and the image becomes
 * {@code available}. An upload that is short, too long or cut off leaves the image in {@code error},
 * never half-available; uploading again replaces the failed content.
 *
 * <p>An image may instead be registered from a source URL: it is created {@code importing} with an
 * import operation ({@link ImportWork}) that learns its size and fills it. Such an image takes no
 * upload.
 */
@Service
public class ImageService {

    /** How often an upload's progress is written where clients can see it. */
    static final long PROGRESS_EVERY = 64L << 20;

    private static final byte[] ZEROS = new byte[ChunkEngine.SEGMENT_SIZE];

    private final ResourceRepository resources;
    private final LcRepository lcs;
    private final StorageBackend backend;
    private final Transactions tx;
    private final ImageSourceRepository sources;
    private final OperationRepository operations;
    private final OperationRunner runner;
    private final CacheRepository cache;
    private final SourcePolicy sourcePolicy;

    ImageService(
            ResourceRepository resources,
            LcRepository lcs,
            StorageBackend backend,
            Transactions tx,
            ImageSourceRepository sources,
            OperationRepository operations,
            OperationRunner runner,
            CacheRepository cache,
            SourcePolicy sourcePolicy) {
        this.resources = resources;
        this.lcs = lcs;
        this.backend = backend;
        this.tx = tx;
        this.sources = sources;
        this.operations = operations;
        this.runner = runner;
        this.cache = cache;
        this.sourcePolicy = sourcePolicy;
    }

    /**
     * An image, its source when it was registered from one, and its cached copies (none while it is
     * importing or once evicted; an uploaded image's one copy is pinned).
     */
    public record Image(Resource resource, @Nullable ImageSource source, List<ImageCopy> copies) {

        /** Clones made from its copies that still exist. */
        public long cloneCount() {
            return copies.stream().mapToLong(ImageCopy::clones).sum();
        }

        /** Its copies' last clone, or import; null with no copy. */
        public java.time.@Nullable Instant lastUsedAt() {
            return copies.stream()
                    .map(ImageCopy::lastUsedAt)
                    .max(java.time.Instant::compareTo)
                    .orElse(null);
        }
    }

    /** An image being imported, and the operation that imports it. */
    public record Import(Image image, Operation operation) {}

    /**
     * Registers an image from a source and starts its import. The row, its source and the running
     * operation commit together, and the work is handed to the runner only then, so that a crash
     * leaves either nothing or an import that resumes.
     */
    public Import importFrom(String name, ImageSource source, Labels labels) {
        sourcePolicy.checkRegistration(source.url());
        String externId = ExternIds.next(ResourceKind.IMAGE);
        Operation operation = Objects.requireNonNull(tx.execute(status -> {
            try {
                resources.insert(externId, ResourceKind.IMAGE, name, null, "importing", null, null, labels);
            } catch (DuplicateKeyException taken) {
                throw SprigException.alreadyExists("an image named '" + name + "'");
            }
            sources.insert(externId, source);
            return operations.start(Operation.Kind.IMPORT, externId, 0);
        }));
        runner.submit(operation);
        return new Import(new Image(get(externId), source, List.of()), operation);
    }

    /** The image with its source, if it has one. */
    public Image image(String externId) {
        return new Image(
                get(externId),
                sources.find(externId).orElse(null),
                cache.copiesOf(List.of(externId)).getOrDefault(externId, List.of()));
    }

    /** A page of images with their sources. */
    public List<Image> withSources(List<Resource> images) {
        List<String> ids = images.stream().map(Resource::externId).toList();
        Map<String, ImageSource> found = sources.findAll(ids);
        Map<String, List<ImageCopy>> copies = cache.copiesOf(ids);
        return images.stream()
                .map(image ->
                        new Image(image, found.get(image.externId()), copies.getOrDefault(image.externId(), List.of())))
                .toList();
    }

    public Resource create(String name, long sizeBytes, Labels labels) {
        SizeRule.require("sizeBytes", sizeBytes);
        String externId = ExternIds.next(ResourceKind.IMAGE);
        try {
            resources.insert(externId, ResourceKind.IMAGE, name, sizeBytes, "queued", null, null, labels);
        } catch (DuplicateKeyException taken) {
            throw SprigException.alreadyExists("an image named '" + name + "'");
        }
        return get(externId);
    }

    public Resource get(String externId) {
        return resources
                .find(externId, ResourceKind.IMAGE)
                .orElseThrow(() -> SprigException.notFound("image " + externId));
    }

    /** The extern_ids of every disk and snapshot that reads from the image, directly or through others. */
    public List<String> descendants(String externId) {
        Resource image = get(externId);
        return image.lcId() == null ? List.of() : resources.dependentsOf(image.lcId());
    }

    public ResourcePage list(ResourceFilter filter, @Nullable String pageToken, int pageSize) {
        PageCursor after = PageCursor.ofParameter(pageToken);
        return resources.page(ResourceKind.IMAGE, filter, after, pageSize);
    }

    /**
     * Streams {@code body} into the image. {@code contentLength} is -1 when unknown; a known length
     * other than the image's size is refused before a byte is stored.
     */
    public Resource upload(String externId, long contentLength, InputStream body) {
        Upload upload;
        long stored;
        try {
            upload = begin(externId, contentLength);
        } catch (SprigException.InvalidArgument wrongLength) {
            resources.setState(externId, "error", wrongLength.getMessage());
            throw wrongLength;
        }
        try {
            stored = receive(upload, body);
        } catch (IOException | RuntimeException failure) {
            String reason = failure instanceof IOException
                    ? "the upload was cut off: " + failure.getMessage()
                    : failure.getMessage();
            resources.setState(externId, "error", reason);
            if (failure instanceof SprigException sprig) {
                throw sprig;
            }
            throw SprigException.invalidArgument(reason);
        }
        try {
            backend.flush(upload.lcId());
            backend.freeze(upload.lcId());
        } catch (RuntimeException failure) {
            // never left importing: that would refuse every later upload of the image
            resources.setState(externId, "error", "storing the upload failed: " + failure.getMessage());
            throw failure;
        }
        tx.executeWithoutResult(status -> {
            lcs.freeze(upload.lcId());
            cache.insertPinned(upload.lcId(), externId, stored);
            resources.setBytesReceived(externId, upload.size());
            resources.setState(externId, "available", null);
        });
        return get(externId);
    }

    private record Upload(String externId, long lcId, long size) {}

    /** Claims the image for this upload and gives it a fresh root lc, or refuses. */
    private Upload begin(String externId, long contentLength) {
        Upload upload = tx.execute(status -> {
            Resource image = resources
                    .lock(externId, ResourceKind.IMAGE)
                    .orElseThrow(() -> SprigException.notFound("image " + externId));
            Long size = image.sizeBytes();
            if (size == null || sources.find(externId).isPresent()) {
                throw SprigException.invalidState(
                        "image " + externId + " is imported from a source; it takes no upload");
            }
            switch (image.state()) {
                case "queued", "error" -> {}
                case "importing" -> throw SprigException.invalidState("image " + externId + " is being uploaded");
                default ->
                    throw SprigException.invalidState("image " + externId + " is " + image.state()
                            + "; only a queued or failed image takes content");
            }
            if (contentLength >= 0 && contentLength != size) {
                throw SprigException.invalidArgument(
                        "the body has " + contentLength + " bytes; image " + externId + " has " + size);
            }
            Long previous = image.lcId();
            long lcId = lcs.nextId();
            lcs.insertAll(List.of(Lc.root(lcId, size)));
            resources.setLc(externId, lcId);
            resources.setBytesReceived(externId, 0);
            resources.setState(externId, "importing", null);
            if (previous != null) {
                lcs.delete(previous);
            }
            backend.define(List.of(new LcSpec(lcId, null, lcId, size, false)));
            return new Upload(externId, lcId, size);
        });
        return Objects.requireNonNull(upload);
    }

    /**
     * Whole segments, the unit of redirection, so that none needs a merge; all-zero ones skipped (they
     * cost nothing and read as zeros anyway).
     *
     * @return the bytes stored
     */
    private long receive(Upload upload, InputStream body) throws IOException {
        byte[] segment = new byte[ChunkEngine.SEGMENT_SIZE];
        long position = 0;
        long stored = 0;
        long nextProgress = PROGRESS_EVERY;
        while (position < upload.size()) {
            int want = (int) Math.min(ChunkEngine.SEGMENT_SIZE, upload.size() - position);
            int got = body.readNBytes(segment, 0, want);
            if (got < want) {
                throw SprigException.invalidArgument(
                        "the body ended after " + (position + got) + " of " + upload.size() + " bytes");
            }
            if (Arrays.mismatch(segment, 0, want, ZEROS, 0, want) != -1) {
                backend.write(upload.lcId(), position, ByteBuffer.wrap(segment, 0, want));
                stored += want;
            }
            position += want;
            if (position >= nextProgress) {
                resources.setBytesReceived(upload.externId(), position);
                nextProgress += PROGRESS_EVERY;
            }
        }
        if (body.read() != -1) {
            throw SprigException.invalidArgument("the body is longer than the image's " + upload.size() + " bytes");
        }
        return stored;
    }
}
