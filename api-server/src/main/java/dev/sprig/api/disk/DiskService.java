package dev.sprig.api.disk;

import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.backend.StorageBackend.LcSpec;
import dev.sprig.api.cache.CacheRepository;
import dev.sprig.api.cache.ImageCache;
import dev.sprig.api.cache.ImageNotCached;
import dev.sprig.api.database.Transactions;
import dev.sprig.api.error.SprigException;
import dev.sprig.api.lineage.ExternIds;
import dev.sprig.api.lineage.Labels;
import dev.sprig.api.lineage.Lc;
import dev.sprig.api.lineage.LcRepository;
import dev.sprig.api.lineage.LineageStep;
import dev.sprig.api.lineage.Names;
import dev.sprig.api.lineage.Resource;
import dev.sprig.api.lineage.ResourceFilter;
import dev.sprig.api.lineage.ResourceKind;
import dev.sprig.api.lineage.ResourcePage;
import dev.sprig.api.lineage.ResourceRepository;
import dev.sprig.api.lineage.ResourceRepository.NewResource;
import dev.sprig.api.lineage.SizeRule;
import dev.sprig.api.operation.Operation;
import dev.sprig.api.operation.OperationProgress;
import dev.sprig.api.operation.OperationRepository;
import dev.sprig.api.operation.OperationRunner;
import dev.sprig.api.operation.Operations;
import dev.sprig.api.paging.PageCursor;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * Disks and their snapshots: the ROW chain of the seed. A clone is a new writable lc whose parent is
 * a frozen lc (an image's, a snapshot's, or a disk's current lc frozen on the spot); a snapshot
 * freezes a disk's lc for itself and gives the disk a new writable child. Metadata changes and the
 * backend definition happen in one transaction: a disk is {@code available} only once the backend
 * holds its lc, and a failed push leaves no row behind.
 */
@Service
public class DiskService implements DisposableBean {

    /** The most disks one bulk clone creates. */
    public static final int MAX_BATCH = 5000;

    /** How often a clone fills the cache for its image before it gives up (it is evicted again each time). */
    static final int MAX_FILLS = 3;

    private final ResourceRepository resources;
    private final LcRepository lcs;
    private final StorageBackend backend;
    private final Operations operations;
    private final Transactions tx;
    private final CloneCoalescer coalescer;
    private final ImageCache cache;
    private final CacheRepository cacheRecords;
    private final OperationRepository operationRepository;
    private final OperationRunner runner;
    private final CloneRequests cloneRequests;

    DiskService(
            ResourceRepository resources,
            LcRepository lcs,
            StorageBackend backend,
            Operations operations,
            Transactions tx,
            ImageCache cache,
            CacheRepository cacheRecords,
            OperationRepository operationRepository,
            OperationRunner runner,
            CloneRequests cloneRequests) {
        this.resources = resources;
        this.lcs = lcs;
        this.backend = backend;
        this.operations = operations;
        this.tx = tx;
        this.cache = cache;
        this.cacheRecords = cacheRecords;
        this.operationRepository = operationRepository;
        this.runner = runner;
        this.cloneRequests = cloneRequests;
        this.coalescer =
                new CloneCoalescer((names, source, size, labels) -> cloneMany(names, source, size, labels, true), 1);
    }

    /**
     * One clone; {@code sizeBytes} null means the source's size, smaller is refused. Concurrent
     * single clones of one source are committed together ({@link CloneCoalescer}).
     */
    public Resource clone(String name, String sourceId, @Nullable Long sizeBytes, Labels labels) {
        Names.require(name, Names.MAX, "name");
        requireSize(sizeBytes);
        try {
            return coalescer.clone(name, sourceId, sizeBytes, labels);
        } catch (ImageNotCached notCached) {
            // a miss: wait for the image's import, then clone alone; the request is counted once, as
            // a miss, unless the image turned out to be cached again by then (a hit after all)
            for (int attempt = 1; ; attempt++) {
                Optional<Operation> importing = cache.fill(sourceId, attempt == 1 ? 1 : 0);
                importing.ifPresent(cache::await);
                boolean hit = attempt == 1 && importing.isEmpty();
                try {
                    return cloneMany(List.of(name), sourceId, sizeBytes, labels, hit)
                            .get(0);
                } catch (ImageNotCached evictedAgain) {
                    if (attempt == MAX_FILLS) {
                        throw evictedTooOften(sourceId);
                    }
                }
            }
        }
    }

    /** A size the client asked for; absent means the source's, which was checked when it was made. */
    private static void requireSize(@Nullable Long sizeBytes) {
        if (sizeBytes != null) {
            SizeRule.require("sizeBytes", sizeBytes);
        }
    }

    private static SprigException evictedTooOften(String imageId) {
        return SprigException.invalidState("image " + imageId + " was evicted again each of " + MAX_FILLS
                + " times it was imported for this clone; the cache is too small for the images in use");
    }

    @Override
    public void destroy() {
        coalescer.close();
    }

    /**
     * {@code count} clones named {@code <namePrefix>-0001} … in one transaction and one backend push;
     * all or none. Of an image that is not cached, they are made by an operation that waits for the
     * image's import (one import however many wait for it) and then clones.
     */
    public BatchClone cloneBatch(
            String namePrefix, int count, String sourceId, @Nullable Long sizeBytes, Labels labels) {
        Names.require(namePrefix, Names.MAX_PREFIX, "namePrefix");
        List<String> names = batchNames(namePrefix, count);
        requireSize(sizeBytes);
        try {
            List<Resource> created = new ArrayList<>(cloneMany(names, sourceId, sizeBytes, labels, true));
            created.sort(Comparator.comparing(Resource::name));
            return new BatchClone.Created(created);
        } catch (ImageNotCached notCached) {
            cache.fill(sourceId, count);
            Operation waiting = Objects.requireNonNull(tx.execute(status -> {
                Operation started = operationRepository.start(Operation.Kind.CLONE, sourceId, count);
                cloneRequests.insert(started.id(), new CloneRequest(namePrefix, count, sizeBytes, labels));
                return started;
            }));
            runner.submit(waiting);
            return new BatchClone.Waiting(waiting);
        }
    }

    /** What a bulk clone answers: the disks, or the operation that will make them. */
    public sealed interface BatchClone {
        record Created(List<Resource> disks) implements BatchClone {}

        record Waiting(Operation operation) implements BatchClone {}
    }

    static List<String> batchNames(String namePrefix, int count) {
        if (count < 1 || count > MAX_BATCH) {
            throw SprigException.invalidArgument("count must be between 1 and " + MAX_BATCH);
        }
        int width = Math.max(4, Integer.toString(count).length());
        List<String> names = new ArrayList<>(count);
        for (int i = 1; i <= count; i++) {
            names.add(namePrefix + "-" + String.format("%0" + width + "d", i));
        }
        return names;
    }

    /**
     * A waiting bulk clone, once its image is cached: clones, or finds that a run cut off by a crash
     * already has (every name taken by a disk cloned from the image). It reports progress (none yet)
     * before it clones, so that one cancelled while it waited stops there and creates no disk.
     */
    void cloneWaiting(String imageId, CloneRequest request, OperationProgress progress) {
        List<String> names = batchNames(request.namePrefix(), request.count());
        for (int attempt = 1; ; attempt++) {
            cache.fill(imageId, 0).ifPresent(cache::await);
            progress.report(0, request.count());
            try {
                cloneMany(names, imageId, request.sizeBytes(), request.labels(), false);
                return;
            } catch (ImageNotCached evictedAgain) {
                if (attempt == MAX_FILLS) {
                    throw evictedTooOften(imageId);
                }
            } catch (SprigException.AlreadyExists taken) {
                if (resources.countClonesNamed(names, imageId) == names.size()) {
                    return;
                }
                throw taken;
            }
        }
    }

    /**
     * The clones' rows are written {@code available} in the transaction that pushes their lcs to the
     * backend, before it commits: if the push fails nothing is committed, so no one ever sees a clone
     * whose lc the backend lacks. Five statements for a clone of an image (four of a snapshot),
     * whatever the count: this is the hot path of a fleet launch. A clone of an image records the use of its copy
     * (for LRU eviction) and, with {@code countHits}, as many cache hits.
     */
    private List<Resource> cloneMany(
            List<String> names, String sourceId, @Nullable Long sizeBytes, Labels labels, boolean countHits) {
        return Objects.requireNonNull(tx.execute(status -> {
            Source source = source(sourceId);
            long size = sizeBytes == null ? source.parent().sizeBytes() : sizeBytes;
            if (size < source.parent().sizeBytes()) {
                throw SprigException.invalidArgument("sizeBytes " + size + " is smaller than the source's "
                        + source.parent().sizeBytes());
            }
            List<Lc> clones = lcs.insertChildren(source.parent(), size, names.size());
            if (source.image()) {
                // the clones of a request that missed were counted as misses already
                cacheRecords.cloned(source.parent().lcId(), names.size(), countHits ? names.size() : 0);
                if (cache.overLimit(source.clones() + names.size())) {
                    TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {
                        @Override
                        public void afterCommit() {
                            cache.checkCloneLimit(sourceId);
                        }
                    });
                }
            }
            List<NewResource> rows = new ArrayList<>(names.size());
            for (int i = 0; i < names.size(); i++) {
                rows.add(new NewResource(
                        ExternIds.next(ResourceKind.DISK),
                        names.get(i),
                        size,
                        clones.get(i).lcId(),
                        sourceId));
            }
            List<Resource> created;
            try {
                created = resources.insertAll(ResourceKind.DISK, "available", labels, rows);
            } catch (DuplicateKeyException taken) {
                throw SprigException.alreadyExists(
                        names.size() == 1 ? "a disk named '" + names.get(0) + "'" : "a disk with one of these names");
            }
            // Storage changes come last, after every metadata check has passed: a refused name must
            // not leave a frozen lc behind on the backend.
            source.toFreeze().forEach(backend::freeze);
            List<LcSpec> specs = new ArrayList<>(source.alsoDefine());
            clones.forEach(
                    clone -> specs.add(new LcSpec(clone.lcId(), clone.parentLcId(), clone.familyId(), size, false)));
            backend.define(specs);
            return created;
        }));
    }

    /**
     * The frozen lc clones hang under. A disk source is snapshotted implicitly: its lc is frozen (no
     * resource names it) and the disk moves to a new writable child, defined with the clones.
     */
    private record Source(Lc parent, List<Long> toFreeze, List<LcSpec> alsoDefine, boolean image, long clones) {}

    private Source source(String sourceId) {
        ResourceKind kind = ResourceKind.ofExternId(sourceId);
        // Clones of one image or snapshot may run side by side; a disk source changes, so it is locked.
        Resource source = (kind == ResourceKind.DISK
                        ? resources.lock(sourceId, kind)
                        : resources.lockShared(sourceId, kind))
                .filter(found -> !found.state().equals(ResourceRepository.DELETING))
                .orElseThrow(() -> SprigException.notFound(kind.name().toLowerCase() + " " + sourceId));
        if (kind == ResourceKind.IMAGE
                && (source.state().equals("importing")
                        || (source.state().equals("available") && source.lcId() == null))) {
            throw new ImageNotCached(sourceId);
        }
        requireAvailable(source);
        if (kind == ResourceKind.IMAGE) {
            // an image may have several copies: clones go to the one with the fewest
            CacheRepository.CopyChoice copy =
                    cacheRecords.leastLoaded(sourceId).orElseThrow(() -> new ImageNotCached(sourceId));
            return new Source(copy.lc(), List.of(), List.of(), true, copy.clones());
        }
        Lc lc = lcs.find(Objects.requireNonNull(source.lcId())).orElseThrow();
        if (kind != ResourceKind.DISK) {
            return new Source(lc, List.of(), List.of(), false, 0);
        }
        Lc moved = freezeAndMove(source, lc);
        return new Source(
                lc,
                List.of(lc.lcId()),
                List.of(new LcSpec(moved.lcId(), lc.lcId(), moved.familyId(), moved.sizeBytes(), false)),
                false,
                0);
    }

    /**
     * In the metadata only: freezes a disk's current lc and points the disk at a new writable child.
     * The caller freezes and defines on the backend once everything else has passed.
     */
    private Lc freezeAndMove(Resource disk, Lc current) {
        Lc next = current.child(lcs.nextId(), current.sizeBytes());
        lcs.freeze(current.lcId());
        lcs.insertAll(List.of(next));
        resources.setLc(disk.externId(), next.lcId());
        return next;
    }

    /** Takes a snapshot: the disk's lc becomes the snapshot's, the disk writes to a new child from now on. */
    public Resource snapshot(String diskId, String name, Labels labels) {
        Names.require(name, Names.MAX, "name");
        String snapshotId = ExternIds.next(ResourceKind.SNAPSHOT);
        tx.executeWithoutResult(status -> {
            Resource disk = resources
                    .lock(diskId, ResourceKind.DISK)
                    .orElseThrow(() -> SprigException.notFound("disk " + diskId));
            requireAvailable(disk);
            Lc current = lcs.find(Objects.requireNonNull(disk.lcId())).orElseThrow();
            Lc next = freezeAndMove(disk, current);
            try {
                resources.insert(
                        snapshotId,
                        ResourceKind.SNAPSHOT,
                        name,
                        current.sizeBytes(),
                        "creating",
                        current.lcId(),
                        diskId,
                        labels);
            } catch (DuplicateKeyException taken) {
                throw SprigException.alreadyExists("a snapshot named '" + name + "'");
            }
            backend.freeze(current.lcId());
            backend.define(List.of(new LcSpec(next.lcId(), current.lcId(), next.familyId(), next.sizeBytes(), false)));
            resources.setState(snapshotId, "available", null);
        });
        return get(snapshotId, ResourceKind.SNAPSHOT);
    }

    /**
     * Grows a disk to {@code sizeBytes}: its writable lc on the backend (every copy), then its size
     * here, in one transaction that holds the disk's row. The new bytes read as zeros; its snapshots,
     * and disks cloned from it, keep their sizes (their lcs are others). A size below the disk's is
     * refused (shrinking would drop data); its own size changes nothing. A client attached now keeps
     * the size it negotiated; one that connects again sees the new one.
     */
    public Resource resize(String diskId, long sizeBytes) {
        SizeRule.require("sizeBytes", sizeBytes);
        tx.executeWithoutResult(status -> {
            Resource disk = resources
                    .lock(diskId, ResourceKind.DISK)
                    .orElseThrow(() -> SprigException.notFound("disk " + diskId));
            requireAvailable(disk);
            if (sizeBytes < disk.sizeBytes()) {
                throw SprigException.invalidArgument("sizeBytes " + sizeBytes + " is smaller than disk " + diskId
                        + "'s " + disk.sizeBytes() + ": a disk can grow, not shrink");
            }
            if (sizeBytes == disk.sizeBytes()) {
                return;
            }
            long lcId = Objects.requireNonNull(disk.lcId());
            lcs.setSize(lcId, sizeBytes);
            resources.setSize(diskId, sizeBytes);
            backend.grow(lcId, sizeBytes);
        });
        return get(diskId);
    }

    /**
     * Snapshots and clones freeze a disk's lc: not while a flatten copies into it (the answer names
     * the operation to wait for).
     */
    void requireAvailable(Resource resource) {
        String what = resource.kind().name().toLowerCase(java.util.Locale.ROOT) + " " + resource.externId();
        if (resource.state().equals(ResourceRepository.FLATTENING)) {
            throw operations.busy(resource.externId(), what + " is flattening");
        }
        if (!resource.state().equals("available")) {
            throw SprigException.invalidState(what + " is " + resource.state() + ", not available");
        }
    }

    /** The chain from the disk's lc to its root, nearest first. */
    public List<LineageStep> lineage(String diskId) {
        Resource disk = get(diskId);
        return resources.lineage(Objects.requireNonNull(disk.lcId()));
    }

    public Resource get(String externId) {
        return get(externId, ResourceKind.DISK);
    }

    public Resource get(String externId, ResourceKind kind) {
        return resources
                .find(externId, kind)
                .orElseThrow(() -> SprigException.notFound(kind.name().toLowerCase() + " " + externId));
    }

    /** Disks in creation order; a filter's source keeps those cloned from one image, snapshot or disk. */
    public ResourcePage list(ResourceFilter filter, @Nullable String pageToken, int pageSize) {
        PageCursor after = PageCursor.ofParameter(pageToken);
        return resources.page(ResourceKind.DISK, filter, after, pageSize);
    }

    /**
     * Snapshots in creation order; {@code diskId} keeps those taken of one disk, which must exist
     * (a disk that does not is 404, not an empty page).
     */
    public ResourcePage snapshots(
            @Nullable String diskId, ResourceFilter filter, @Nullable String pageToken, int pageSize) {
        if (diskId != null) {
            get(diskId);
        }
        PageCursor after = PageCursor.ofParameter(pageToken);
        return resources.page(ResourceKind.SNAPSHOT, filter, after, pageSize);
    }
}
