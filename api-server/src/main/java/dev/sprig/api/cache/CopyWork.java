package dev.sprig.api.cache;

import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.backend.StorageBackend.LcSpec;
import dev.sprig.api.backend.StorageBackend.PcRun;
import dev.sprig.api.error.SprigException;
import dev.sprig.api.lineage.Lc;
import dev.sprig.api.lineage.LcRepository;
import dev.sprig.api.lineage.Resource;
import dev.sprig.api.lineage.ResourceKind;
import dev.sprig.api.lineage.ResourceRepository;
import dev.sprig.api.operation.Operation;
import dev.sprig.api.operation.OperationProgress;
import dev.sprig.api.operation.OperationWork;
import dev.sprig.engine.ChunkEngine;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Another copy of an image whose copies carry too many clones (the seed's clone limit): a new root
 * lc placed on nodes apart from the image's other copies, filled PC by PC from an existing copy
 * node to node, only the PCs that copy holds data in (each new node reads its PCs from the source copy's nodes), segments that read as all
 * zeros skipped, its data reserved in the cache before the first byte is copied. Once flushed and frozen it becomes ready,
 * and new clones go to whichever copy has the fewest. A re-run after a crash discards the half-made
 * copy and starts over.
 */
@Component
class CopyWork implements OperationWork {

    private final ResourceRepository resources;
    private final LcRepository lcs;
    private final CacheRepository cache;
    private final ImageCache imageCache;
    private final StorageBackend backend;
    private final TransactionTemplate tx;

    CopyWork(
            ResourceRepository resources,
            LcRepository lcs,
            CacheRepository cache,
            ImageCache imageCache,
            StorageBackend backend,
            TransactionTemplate tx) {
        this.resources = resources;
        this.lcs = lcs;
        this.cache = cache;
        this.imageCache = imageCache;
        this.backend = backend;
        this.tx = tx;
    }

    @Override
    public Operation.Kind kind() {
        return Operation.Kind.COPY;
    }

    @Override
    public void perform(Operation operation, OperationProgress progress) {
        String imageId = operation.targetId();
        imageCache.discardFilling(imageId);
        try {
            Filling filling = define(imageId);
            fill(imageId, filling, progress);
            backend.flush(filling.lcId());
            backend.freeze(filling.lcId());
        } catch (RuntimeException e) {
            imageCache.discardFilling(imageId);
            throw e;
        }
    }

    private record Filling(long lcId, long fromLcId, long sizeBytes) {}

    /** The new copy's lc, placed apart from the image's other copies, defined empty. */
    private Filling define(String imageId) {
        List<Long> stale = new ArrayList<>();
        Filling filling = Objects.requireNonNull(tx.execute(status -> {
            Resource image = resources
                    .lock(imageId, ResourceKind.IMAGE)
                    .filter(found -> found.state().equals("available"))
                    .orElseThrow(() -> SprigException.invalidState("image " + imageId + " is no longer available"));
            List<Long> copies = cache.readyCopies(imageId);
            if (copies.isEmpty()) {
                throw SprigException.invalidState("image " + imageId + " has no cached copy to copy from");
            }
            long size = Objects.requireNonNull(image.sizeBytes());
            long lcId = lcs.nextId();
            lcs.insertAll(List.of(Lc.root(lcId, size)));
            Long replaced = imageCache.startFilling(imageId, lcId);
            if (replaced != null) {
                stale.add(replaced);
            }
            if (!backend.placeApart(lcId, copies)) {
                throw SprigException.invalidState(
                        "no storage node is up apart from the nodes of image " + imageId + "'s copies");
            }
            backend.define(List.of(new LcSpec(lcId, null, lcId, size, false)));
            return new Filling(lcId, copies.get(0), size);
        }));
        imageCache.deleteFromStorage(stale);
        return filling;
    }

    /**
     * PC by PC, each copied by the node that will hold it from the node that holds it in the source
     * copy; only the PCs the source holds anything in are visited (every other one reads as zeros,
     * which the fresh lc does already), so a sparse image of the largest size is copied in the time
     * its data takes. The room is reserved up front: both copies hold the same bytes, so the new
     * one stores what the source stores; the reservation is settled to what was stored at the end.
     */
    private void fill(String imageId, Filling filling, OperationProgress progress) {
        long reserved = cache.storedBytes(filling.fromLcId());
        if (reserved > 0) {
            imageCache.reserve(imageId, filling.lcId(), reserved);
        }
        long pcSize = ChunkEngine.PC_SIZE;
        List<PcRun> runs = backend.pcsWithData(filling.fromLcId());
        long pcs = runs.stream().mapToLong(PcRun::pcCount).sum();
        long done = 0;
        long stored = 0;
        for (PcRun run : runs) {
            for (long i = run.firstPc(); i < run.firstPc() + run.pcCount(); i++) {
                long start = i * pcSize;
                if (start >= filling.sizeBytes()) {
                    break;
                }
                stored += backend.copyRange(
                        filling.fromLcId(), filling.lcId(), start, Math.min(pcSize, filling.sizeBytes() - start));
                progress.report(++done, pcs);
            }
        }
        imageCache.settle(imageId, filling.lcId(), reserved, stored);
    }

    @Override
    public Runnable succeed(Operation operation) {
        String imageId = operation.targetId();
        long lcId = cache.filling(imageId)
                .orElseThrow(() -> new IllegalStateException("image " + imageId + " has no copy being made"));
        lcs.freeze(lcId);
        cache.markReady(lcId, cache.storedBytes(lcId));
        return () -> {};
    }

    @Override
    public void fail(Operation operation, String error) {}
}
