package dev.sprig.api.image;

import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.backend.StorageBackend.LcSpec;
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
import java.util.Arrays;
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

    private static final Logger log = LoggerFactory.getLogger(ImportWork.class);
    private static final byte[] ZEROS = new byte[ImageService.SEGMENT];

    private final ResourceRepository resources;
    private final LcRepository lcs;
    private final ImageSourceRepository sources;
    private final SourceFetcher fetcher;
    private final StorageBackend backend;
    private final TransactionTemplate tx;

    ImportWork(
            ResourceRepository resources,
            LcRepository lcs,
            ImageSourceRepository sources,
            SourceFetcher fetcher,
            StorageBackend backend,
            TransactionTemplate tx) {
        this.resources = resources;
        this.lcs = lcs;
        this.sources = sources;
        this.fetcher = fetcher;
        this.backend = backend;
        this.tx = tx;
    }

    @Override
    public Operation.Kind kind() {
        return Operation.Kind.IMPORT;
    }

    @Override
    public void perform(Operation operation, OperationProgress progress) {
        String imageId = operation.targetId();
        importing(resources.find(imageId, ResourceKind.IMAGE).orElse(null), imageId);
        ImageSource source =
                sources.find(imageId).orElseThrow(() -> SprigException.notFound("the source of image " + imageId));
        discardLc(imageId);
        try (SourceFetcher.Fetched fetched = fetcher.fetch(source, operation.id());
                QemuNbd server = QemuNbd.serve(fetched.file(), source.format())) {
            copyInto(imageId, server, progress);
        } catch (RuntimeException e) {
            discardLc(imageId);
            throw e;
        }
    }

    /** Learns the size from the export, defines the lc, copies, and makes the lc durable and read-only. */
    private void copyInto(String imageId, QemuNbd server, OperationProgress progress) {
        try (NbdClient nbd = NbdClient.open("127.0.0.1", server.port(), "")) {
            long size = nbd.sizeBytes();
            if (size <= 0 || size > ImageService.MAX_SIZE) {
                throw new ImportFailure("the image has " + size + " bytes; an image has 1 to " + ImageService.MAX_SIZE);
            }
            long lcId = defineLc(imageId, size);
            copy(nbd, lcId, size, progress);
            backend.flush(lcId);
            backend.freeze(lcId);
        } catch (IOException e) {
            throw server.failure(e);
        }
    }

    @Override
    public Runnable succeed(Operation operation) {
        Resource image = importing(
                resources.lock(operation.targetId(), ResourceKind.IMAGE).orElse(null), operation.targetId());
        long lcId = Objects.requireNonNull(image.lcId(), "an imported image has an lc");
        lcs.freeze(lcId);
        resources.setBytesReceived(image.externId(), Objects.requireNonNull(image.sizeBytes()));
        resources.setState(image.externId(), "available", null);
        return () -> {};
    }

    @Override
    public void fail(Operation operation, String error) {
        resources
                .lock(operation.targetId(), ResourceKind.IMAGE)
                .filter(image -> image.state().equals("importing"))
                .ifPresent(image -> resources.setState(image.externId(), "error", error));
    }

    /** A fresh root lc of the learned size, in the database and the backend, before any byte is written. */
    private long defineLc(String imageId, long size) {
        return Objects.requireNonNull(tx.execute(status -> {
            importing(resources.lock(imageId, ResourceKind.IMAGE).orElse(null), imageId);
            long lcId = lcs.nextId();
            lcs.insertAll(List.of(Lc.root(lcId, size)));
            resources.setSize(imageId, size);
            resources.setLc(imageId, lcId);
            resources.setBytesReceived(imageId, 0);
            backend.define(List.of(new LcSpec(lcId, null, lcId, size, false)));
            return lcId;
        }));
    }

    /**
     * Removes the lc an earlier or the current run of the import defined: from the database first
     * (so that no one can reach it), then from the backend, best effort (what a failed delete leaves
     * is storage nothing refers to, which the reconciler removes).
     */
    private void discardLc(String imageId) {
        Long lcId = tx.execute(status -> {
            Resource image = resources.lock(imageId, ResourceKind.IMAGE).orElse(null);
            if (image == null || image.lcId() == null || !image.state().equals("importing")) {
                return null;
            }
            resources.setLc(imageId, null);
            resources.setBytesReceived(imageId, 0);
            lcs.delete(image.lcId());
            return image.lcId();
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
     * One PC at a time: ask which ranges are zero, then read and write the whole segments that are
     * not (the last one may be short when the size is not a segment multiple).
     */
    private void copy(NbdClient nbd, long lcId, long size, OperationProgress progress) throws IOException {
        int segment = ImageService.SEGMENT;
        ByteBuf buffer = Unpooled.buffer(segment);
        byte[] bytes = new byte[segment];
        try {
            for (long step = 0; step < size; step += STEP) {
                long length = Math.min(STEP, size - step);
                boolean[] data = dataSegments(nbd, step, length);
                for (int s = 0; s < data.length; s++) {
                    if (!data[s]) {
                        continue;
                    }
                    long offset = step + (long) s * segment;
                    int want = (int) Math.min(segment, size - offset);
                    buffer.clear();
                    check(nbd.read(offset, want, buffer), "read", offset);
                    buffer.getBytes(0, bytes, 0, want);
                    if (Arrays.mismatch(bytes, 0, want, ZEROS, 0, want) != -1) {
                        backend.write(lcId, offset, ByteBuffer.wrap(bytes, 0, want));
                    }
                }
                progress.report(step + length, size);
            }
        } finally {
            buffer.release();
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

    /** The image, which stays {@code importing} until its import ends. */
    private static Resource importing(@Nullable Resource image, String imageId) {
        if (image == null) {
            throw SprigException.notFound("image " + imageId);
        }
        if (!image.state().equals("importing")) {
            throw SprigException.invalidState("image " + imageId + " is " + image.state() + ", not importing");
        }
        return image;
    }
}
