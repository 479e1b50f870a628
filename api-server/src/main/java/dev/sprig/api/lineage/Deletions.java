package dev.sprig.api.lineage;

import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.database.Transactions;
import dev.sprig.api.error.SprigException;
import dev.sprig.api.operation.Operations;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Service;

/**
 * Deleting images, disks and snapshots by the lineage rules. A disk's own lc is writable and has no
 * children, so a disk always goes; an image or snapshot that clones still read from is refused with
 * the list of them ({@code HAS_DEPENDENTS}). Lcs left with no resource below them (implicit
 * snapshots of disk sources) go with it ({@link UnusedAncestors}). Deleting what is already gone
 * succeeds; a disk that is being flattened is refused until its flatten has finished. The metadata
 * goes first, in one transaction; the backend lcs after it, deepest first.
 *
 * <p>A deferred delete of something with dependents hides it at once (state {@code deleting}: gone
 * from reads and listings, its name free again) and frees it when its last dependent goes.
 */
@Service
public class Deletions {

    static final int STORAGE_DELETE_ATTEMPTS = 20;
    static final Duration STORAGE_DELETE_PAUSE = Duration.ofMillis(50);
    private static final Logger log = LoggerFactory.getLogger(Deletions.class);

    private final ResourceRepository resources;
    private final LcRepository lcs;
    private final UnusedAncestors unusedAncestors;
    private final Operations operations;
    private final StorageBackend backend;
    private final Transactions tx;

    Deletions(
            ResourceRepository resources,
            LcRepository lcs,
            UnusedAncestors unusedAncestors,
            Operations operations,
            StorageBackend backend,
            Transactions tx) {
        this.resources = resources;
        this.lcs = lcs;
        this.unusedAncestors = unusedAncestors;
        this.operations = operations;
        this.backend = backend;
        this.tx = tx;
    }

    /** Deletes {@code externId} if it names a resource of {@code kind}; an id of another kind names nothing here. */
    public void delete(String externId, ResourceKind kind, boolean deferred) {
        if (ResourceKind.ofExternId(externId) != kind) {
            throw SprigException.notFound(kind.name().toLowerCase(Locale.ROOT) + " " + externId);
        }
        List<Long> removed = tx.execute(status -> {
            Resource resource = resources.lock(externId, kind).orElse(null);
            if (resource == null || resource.state().equals(ResourceRepository.DELETING)) {
                return List.<Long>of();
            }
            if (kind == ResourceKind.IMAGE && operations.runningOn(externId).isPresent()) {
                // an import fills a copy the image does not point at yet; bulk clones wait for it
                throw operations.busy(externId, "image " + externId + " is " + resource.state());
            }
            if (resource.state().equals(ResourceRepository.FLATTENING)) {
                // the running flatten copies into this disk's lc and ends by detaching it: the lc must stay
                throw operations.busy(externId, "disk " + externId + " is flattening");
            }
            Long lcId = resource.lcId();
            // An image's other copies (made past the clone limit) have no resource of their own:
            // those nothing reads from go with it, the others when their last clone goes.
            List<Long> otherCopies = kind == ResourceKind.IMAGE
                    ? lcs.imageCopies(externId).stream()
                            .filter(copy -> !copy.equals(lcId))
                            .toList()
                    : List.of();
            // Locked before their children are counted, as UnusedAncestors locks them: a flatten or a
            // delete that is taking the last child away meanwhile commits first, and is then seen.
            if (lcId != null) {
                lcs.lock(lcId);
            }
            otherCopies.forEach(lcs::lock);
            List<String> dependents = new ArrayList<>(lcId == null ? List.of() : resources.dependentsOf(lcId));
            otherCopies.forEach(copy -> dependents.addAll(resources.dependentsOf(copy)));
            if (!dependents.isEmpty() && !deferred) {
                throw SprigException.hasDependents(kind.name().toLowerCase(Locale.ROOT) + " " + externId, dependents);
            }
            List<Long> unreadCopies = new ArrayList<>();
            for (long copy : otherCopies) {
                if (!lcs.hasChildren(copy)) {
                    lcs.delete(copy);
                    unreadCopies.add(copy);
                }
            }
            if (!dependents.isEmpty()) {
                if (lcId != null && !lcs.hasChildren(lcId)) {
                    // the image's own copy has no clones while another copy does: the image waits on
                    // that one instead, and its own goes now (nothing would ever free it otherwise)
                    Long read = otherCopies.stream()
                            .filter(lcs::hasChildren)
                            .findFirst()
                            .orElse(null);
                    if (read != null) {
                        resources.setLc(externId, read);
                        lcs.delete(lcId);
                        unreadCopies.add(lcId);
                    }
                }
                resources.setState(externId, ResourceRepository.DELETING, null);
                return unreadCopies;
            }
            if (kind == ResourceKind.IMAGE) {
                lcs.keepHitsOfCopies(externId);
            }
            if (lcId == null) {
                resources.delete(externId);
                return unreadCopies;
            }
            resources.delete(externId);
            Long parent = lcs.find(lcId).orElseThrow().parentLcId();
            List<Long> gone = new ArrayList<>(lcs.subtreeDeepestFirst(lcId));
            gone.forEach(lcs::delete);
            gone.addAll(unusedAncestors.remove(parent));
            gone.addAll(unreadCopies);
            return gone;
        });
        Objects.requireNonNull(removed).forEach(this::deleteFromStorage);
    }

    /**
     * Deletes lcs from storage, in list order, after a transaction that removed them from the
     * metadata has committed (as {@link #delete} does with its own).
     */
    public void removeFromStorage(List<Long> lcIds) {
        lcIds.forEach(this::deleteFromStorage);
    }

    /**
     * Deletes one lc from storage after its metadata is gone. The deletion has happened by then, so a
     * failure here is not the client's: the lc is retried for a moment, because a concurrent deletion
     * of its last child commits its metadata first and may reach storage a little after this one
     * (two disks of one implicit snapshot deleted at once), and is then left to the reconciler, which
     * removes what the database no longer knows.
     */
    private void deleteFromStorage(long lcId) {
        for (int attempt = 1; ; attempt++) {
            try {
                backend.delete(lcId);
                return;
            } catch (RuntimeException e) {
                if (attempt == STORAGE_DELETE_ATTEMPTS) {
                    log.warn(
                            "lc {} is gone from the database but could not be deleted from storage; the reconciler"
                                    + " will remove it: {}",
                            lcId,
                            e.getMessage());
                    return;
                }
                try {
                    Thread.sleep(STORAGE_DELETE_PAUSE.toMillis());
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }
}
