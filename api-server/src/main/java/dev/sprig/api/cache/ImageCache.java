package dev.sprig.api.cache;

import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.database.Transactions;
import dev.sprig.api.error.SprigException;
import dev.sprig.api.lineage.LcRepository;
import dev.sprig.api.lineage.Resource;
import dev.sprig.api.lineage.ResourceKind;
import dev.sprig.api.lineage.ResourceRepository;
import dev.sprig.api.operation.Operation;
import dev.sprig.api.operation.OperationRepository;
import dev.sprig.api.operation.OperationRunner;
import dev.sprig.api.operation.Operations;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.stereotype.Service;

/**
 * The image cache (the seed's Frigga). An image imported from a source is cached while it has a
 * ready copy; once evicted it stays {@code available} with none, and the next clone or prefetch
 * fills it again: exactly one import however many requests arrive, because the import is started
 * under the image's row lock and a running one is joined (a unique index allows one per image).
 *
 * <p>Room is made by the import, in the transaction that reserves its bytes: least recently used
 * copies go first, and only copies that no lc reads from and no operation works on. When that
 * cannot free enough, nothing is evicted and the import fails with {@code CACHE_FULL}.
 */
@Service
public class ImageCache implements DisposableBean {

    /** How often a request waiting for an import looks at its operation. */
    static final Duration POLL = Duration.ofMillis(50);
    /** How long a request waits for an import before it answers that the import goes on. */
    static final Duration WAIT = Duration.ofMinutes(10);

    private static final Logger log = LoggerFactory.getLogger(ImageCache.class);

    private final ResourceRepository resources;
    private final LcRepository lcs;
    private final OperationRepository operations;
    private final Operations busy;
    private final OperationRunner runner;
    private final StorageBackend backend;
    private final Transactions tx;
    private final CacheRepository cache;
    private final CacheProperties properties;
    private final Counter refused;
    private final Set<String> limitChecksPending = ConcurrentHashMap.newKeySet();
    private final ExecutorService limitChecks = Executors.newSingleThreadExecutor(work -> {
        Thread thread = new Thread(work, "clone-limit");
        thread.setDaemon(true);
        return thread;
    });

    ImageCache(
            ResourceRepository resources,
            LcRepository lcs,
            OperationRepository operations,
            Operations busy,
            OperationRunner runner,
            StorageBackend backend,
            Transactions tx,
            CacheRepository cache,
            CacheProperties properties,
            MeterRegistry registry) {
        this.resources = resources;
        this.lcs = lcs;
        this.operations = operations;
        this.busy = busy;
        this.runner = runner;
        this.backend = backend;
        this.tx = tx;
        this.cache = cache;
        this.properties = properties;
        // counted here, not in cache_stats: a refusal rolls back the transaction it happens in
        this.refused = Counter.builder("sprig.cache.full")
                .description("reservations of cache room refused with CACHE_FULL (an import or copy failed for it)")
                .register(registry);
    }

    private record Fill(@Nullable Operation operation, boolean started) {}

    /**
     * Makes sure the image is cached or being imported: empty when it is cached, otherwise the
     * import to wait for, started here if none runs.
     *
     * @param disks how many disks are waiting for it (counted as misses); 0 for a prefetch
     */
    public Optional<Operation> fill(String imageId, int disks) {
        Fill fill = Objects.requireNonNull(tx.execute(status -> {
            Resource image = resources
                    .lock(imageId, ResourceKind.IMAGE)
                    .filter(found -> !found.state().equals(ResourceRepository.DELETING))
                    .orElseThrow(() -> SprigException.notFound("image " + imageId));
            boolean available = image.state().equals("available");
            if (available && image.lcId() != null) {
                return new Fill(null, false);
            }
            if (!available && !image.state().equals("importing")) {
                throw SprigException.invalidState("image " + imageId + " is " + image.state() + ", not available"
                        + (image.error() == null ? "" : ": " + image.error()));
            }
            if (disks > 0) {
                cache.missed(disks);
            }
            Optional<Operation> running = operations.runningOn(imageId, Operation.Kind.IMPORT);
            if (running.isPresent()) {
                return new Fill(running.get(), false);
            }
            if (!available) {
                throw SprigException.invalidState("image " + imageId + " is importing with no import running");
            }
            return new Fill(operations.start(Operation.Kind.IMPORT, imageId, 0), true);
        }));
        if (fill.started()) {
            log.info(
                    "Image {} is not cached; importing it again ({})",
                    imageId,
                    fill.operation().id());
            runner.submit(fill.operation());
        }
        return Optional.ofNullable(fill.operation());
    }

    /**
     * Waits for an import to end, wherever it runs (the leader may be another instance); a failed one
     * is thrown as its failure ({@code CACHE_FULL} stays {@code CACHE_FULL}).
     */
    public void await(Operation imported) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            Operation now = operations
                    .find(imported.id())
                    .orElseThrow(() -> SprigException.notFound("operation " + imported.id()));
            switch (now.state()) {
                case SUCCEEDED -> {
                    return;
                }
                case FAILED -> throw failure(now);
                case RUNNING -> {
                    if (System.nanoTime() > deadline) {
                        throw SprigException.invalidState("image " + imported.targetId() + " is still being imported"
                                + " (operation " + imported.id() + ", " + now.done() + " of " + now.total()
                                + " bytes); follow the operation and retry once it has succeeded");
                    }
                    try {
                        Thread.sleep(POLL.toMillis());
                    } catch (InterruptedException interrupted) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException("interrupted while waiting for " + imported.id(), interrupted);
                    }
                }
            }
        }
    }

    private static SprigException failure(Operation failed) {
        String error = Objects.requireNonNullElse(failed.error(), "it failed");
        if ("CACHE_FULL".equals(failed.errorCode())) {
            return SprigException.cacheFull(error);
        }
        return SprigException.invalidState(
                "the import of image " + failed.targetId() + " (operation " + failed.id() + ") failed: " + error);
    }

    /**
     * Makes room for {@code bytes} more of image {@code imageId}, in the caller's transaction (which
     * then reserves them): evicts least recently used copies nothing reads from until they fit, or
     * none and throws {@code CACHE_FULL}.
     *
     * @return the evicted lcs, to delete from storage once the transaction has committed
     */
    public List<Long> makeRoom(String imageId, long bytes) {
        cache.lockCache();
        long capacity = properties.capacity().toBytes();
        long used = cache.usedBytes();
        if (used + bytes <= capacity) {
            return List.of();
        }
        // Evictions change only metadata until the transaction commits: when they cannot free enough,
        // throwing rolls every one of them back, so a refused import loses nothing that was cached.
        List<Long> evicted = new ArrayList<>();
        long freed = 0;
        long hits = 0;
        for (CacheRepository.Evictable copy : cache.evictable(imageId)) {
            if (used - freed + bytes <= capacity) {
                break;
            }
            long served = cache.hitsOf(copy.lcId());
            if (evict(copy.imageId(), copy.lcId())) {
                evicted.add(copy.lcId());
                freed += copy.storedBytes();
                hits += served;
                log.info(
                        "Evicting the copy of image {} (lc {}, {} bytes), least recently used",
                        copy.imageId(),
                        copy.lcId(),
                        copy.storedBytes());
            }
        }
        if (used - freed + bytes > capacity) {
            refused.increment();
            throw SprigException.cacheFull("image " + imageId + " needs " + bytes + " bytes of cache; it holds " + used
                    + " of " + capacity + " (sprig.cache.capacity) and only " + freed + " can be evicted: copies"
                    + " that disks or snapshots read from are never evicted");
        }
        if (!evicted.isEmpty()) {
            cache.evicted(evicted.size(), hits);
        }
        return evicted;
    }

    /**
     * Drops one copy from the metadata if it is still ready and nothing reads from it, checked under
     * the image's row lock, which every clone of it shares while it commits. The image points at
     * another copy if it has one, else at none (it is no longer cached).
     */
    private boolean evict(String imageId, long lcId) {
        Resource image = resources.lock(imageId, ResourceKind.IMAGE).orElse(null);
        List<Long> copies = cache.readyCopies(imageId);
        if (image == null || !copies.contains(lcId) || lcs.hasChildren(lcId)) {
            return false;
        }
        if (Objects.equals(image.lcId(), lcId)) {
            resources.setLc(
                    imageId,
                    copies.stream().filter(other -> other != lcId).findFirst().orElse(null));
        }
        lcs.delete(lcId);
        return true;
    }

    /**
     * Makes room in the cache for {@code bytes} more of the copy {@code lcId} of {@code imageId}
     * that an operation is filling, before they are written: evicts what it must (removed from
     * storage once that has committed), or refuses with CACHE_FULL.
     */
    public void reserve(String imageId, long lcId, long bytes) {
        List<Long> evicted = Objects.requireNonNull(tx.execute(status -> {
            // an uploaded image's copies are pinned and not counted: nothing to make room for
            List<Long> made = cache.hasSource(imageId) ? makeRoom(imageId, bytes) : List.of();
            cache.addStoredBytes(lcId, bytes);
            if (made.isEmpty()) {
                // A reservation a crash loses costs nothing (the filling starts over and discards the
                // copy), so it need not wait for the WAL flush, which under the filling's own writes
                // takes tens of milliseconds. An eviction must be durable before its lc is deleted.
                cache.commitWithoutWaitingForDurability();
            }
            return made;
        }));
        deleteFromStorage(evicted);
    }

    /**
     * Settles what the copy {@code lcId} of {@code imageId} holds in the cache once it is filled:
     * {@code reserved} bytes were reserved before writing (an estimate meant as an upper bound) and
     * {@code stored} are held. What was not needed is given back; what the estimate missed is
     * reserved now, evicting or refusing with CACHE_FULL as any reservation does.
     */
    public void settle(String imageId, long lcId, long reserved, long stored) {
        if (stored > reserved) {
            reserve(imageId, lcId, stored - reserved);
        } else if (stored < reserved) {
            cache.addStoredBytes(lcId, stored - reserved);
        }
    }

    /** Whether a copy with {@code clones} clones is past {@code sprig.cache.max-clones-per-copy}. */
    public boolean overLimit(long clones) {
        return clones > properties.maxClonesPerCopy();
    }

    /**
     * Checks the clone limit of an image after clones of it have committed, in the background: the
     * clone's answer does not wait for it, and it runs in transactions of its own (code called from
     * a transaction's completion would otherwise still take part in that transaction). Requests for
     * an image already waiting for its check are dropped.
     */
    public void checkCloneLimit(String imageId) {
        if (limitChecksPending.add(imageId)) {
            try {
                limitChecks.execute(() -> {
                    limitChecksPending.remove(imageId);
                    try {
                        copyIfOverLimit(imageId);
                    } catch (RuntimeException e) {
                        log.warn("Checking the clone limit of image {} failed: {}", imageId, e.getMessage());
                    }
                });
            } catch (RejectedExecutionException stopping) {
                limitChecksPending.remove(imageId);
            }
        }
    }

    @Override
    public void destroy() {
        limitChecks.shutdownNow();
    }

    /**
     * After clones of an image: when its least-loaded copy carries more than
     * {@code sprig.cache.max-clones-per-copy} clones and storage has nodes apart from its copies,
     * starts making another copy there ({@link CopyWork}), unless one is being made. On a single
     * node this does nothing: the limit only shows in the figures.
     */
    void copyIfOverLimit(String imageId) {
        CacheRepository.CopyChoice least = cache.leastLoaded(imageId).orElse(null);
        if (least == null
                || least.clones() <= properties.maxClonesPerCopy()
                || !backend.canPlaceApart(cache.readyCopies(imageId))
                || operations.runningOn(imageId, Operation.Kind.COPY).isPresent()) {
            return;
        }
        // the counts only grow as clones are made: are the clones still there?
        cache.recount(imageId);
        least = cache.leastLoaded(imageId).orElse(null);
        if (least == null || least.clones() <= properties.maxClonesPerCopy()) {
            return;
        }
        Operation started = tx.execute(status -> {
            Resource image = resources.lock(imageId, ResourceKind.IMAGE).orElse(null);
            if (image == null
                    || !image.state().equals("available")
                    || operations.runningOn(imageId).isPresent()) {
                return null;
            }
            return operations.start(Operation.Kind.COPY, imageId, 0);
        });
        if (started != null) {
            log.info(
                    "Image {}: its least-loaded copy has {} clones, over {}; making another copy ({})",
                    imageId,
                    least.clones(),
                    properties.maxClonesPerCopy(),
                    started.id());
            runner.submit(started);
        }
    }

    /**
     * An operator's eviction of one image's copy: refused while disks or snapshots read from it
     * (listing them) or an operation works on the image; an uploaded image is pinned. Evicting an
     * image that is not cached does nothing.
     */
    public void evict(String imageId) {
        List<Long> evicted = Objects.requireNonNull(tx.execute(status -> {
            cache.lockCache();
            Resource image = resources
                    .lock(imageId, ResourceKind.IMAGE)
                    .filter(found -> !found.state().equals(ResourceRepository.DELETING))
                    .orElseThrow(() -> SprigException.notFound("image " + imageId));
            if (!cache.hasSource(imageId)) {
                throw SprigException.invalidState("image " + imageId + " was uploaded: it has no source to be imported"
                        + " again from, so its copy is pinned");
            }
            if (operations.runningOn(imageId).isPresent()) {
                throw busy.busy(imageId, "image " + imageId + " is " + image.state());
            }
            List<Long> copies = cache.readyCopies(imageId);
            List<String> dependents = new ArrayList<>();
            copies.forEach(copy -> dependents.addAll(resources.dependentsOf(copy)));
            if (!dependents.isEmpty()) {
                throw SprigException.hasDependents("the copies of image " + imageId, dependents);
            }
            long hits = 0;
            for (long copy : copies) {
                hits += cache.hitsOf(copy);
                if (!evict(imageId, copy)) {
                    throw SprigException.invalidState(
                            "image " + imageId + " changed while it was being evicted; retry");
                }
            }
            if (!copies.isEmpty()) {
                cache.evicted(copies.size(), hits);
            }
            return copies;
        }));
        deleteFromStorage(evicted);
    }

    /**
     * In the caller's transaction, which holds the image's row lock: {@code lcId} becomes the copy
     * being filled for the image, replacing one an earlier run of the operation left (after a leader
     * change two runs may overlap for a moment).
     *
     * @return the lc replaced, for the caller to delete from storage once it has committed
     */
    public @Nullable Long startFilling(String imageId, long lcId) {
        Long stale = cache.filling(imageId).orElse(null);
        if (stale != null) {
            lcs.delete(stale);
        }
        cache.insertFilling(lcId, imageId, 0);
        return stale;
    }

    /**
     * Removes the copy an operation was filling for the image (an import, or a copy past the clone
     * limit), left by an earlier run or failed in this one: from the database first (so that no one
     * can reach it), then from storage, best effort (what a failed delete leaves is storage nothing
     * refers to, which the reconciler removes).
     */
    public void discardFilling(String imageId) {
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
            if (image.state().equals("importing")) {
                resources.setBytesReceived(imageId, 0);
            }
            lcs.delete(filling);
            return filling;
        });
        if (lcId != null) {
            deleteFromStorage(List.of(lcId));
        }
    }

    /**
     * Removes copies from storage after their metadata is gone (evicted, or never finished), best effort: what a failed
     * delete leaves is storage nothing refers to, which the reconciler removes.
     */
    public void deleteFromStorage(List<Long> evicted) {
        for (long lcId : evicted) {
            try {
                backend.delete(lcId);
            } catch (RuntimeException e) {
                log.warn("lc {}, no longer in the cache, could not be removed from storage", lcId, e);
            }
        }
    }

    public CacheStats stats() {
        return cache.stats(properties.capacity().toBytes(), properties.maxClonesPerCopy());
    }
}
