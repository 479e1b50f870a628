package dev.sprig.api.lineage;

import dev.sprig.api.SprigApiProperties;
import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.backend.StorageBackend.HeldLc;
import dev.sprig.api.error.SprigException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Brings the backend in line with the database, which is the authority on lineage, when api-server
 * starts and before it serves. Lcs the backend holds but the database never committed (a crash
 * between the backend push and the commit) are deleted, children first: nothing refers to them.
 * Only ids this database handed out count as such: an lc with a larger id was made by another
 * database, which means the backend's data dir is paired with the wrong one, and it is left alone.
 * Lcs the database lists but the backend lacks are data lost, not a difference to paper over: they
 * are reported, never redefined empty under the disks and clones that read from them.
 */
@Service
public class Reconciler implements SmartInitializingSingleton {

    private static final Logger log = LoggerFactory.getLogger(Reconciler.class);

    /** The advisory lock that makes one api-server instance reconcile at a time. */
    private static final long LOCK = 0x5370726967L; // "Sprig"

    private final LcRepository lcs;
    private final StorageBackend backend;
    private final TransactionTemplate tx;
    private final boolean ownsItsBackend;
    private final Set<Long> suspects = ConcurrentHashMap.newKeySet();

    Reconciler(LcRepository lcs, StorageBackend backend, TransactionTemplate tx, SprigApiProperties properties) {
        this.lcs = lcs;
        this.backend = backend;
        this.tx = tx;
        this.ownsItsBackend = properties.backend().type().equals("embedded");
    }

    /** What one pass deleted, and what it found missing. */
    public record Report(List<Long> orphansDeleted, List<Long> missing, List<Long> foreign) {}

    /**
     * The embedded engine belongs to this process alone, and at start-up nothing is being created
     * yet, so what the database lacks is deleted at once. Storage nodes are shared by every
     * api-server instance: they are left to the periodic pass.
     */
    @Override
    public void afterSingletonsInstantiated() {
        if (ownsItsBackend) {
            logged(reconcile());
        }
    }

    /**
     * Runs on one instance at a time (a PostgreSQL advisory lock). An lc the database does not know
     * may belong to a transaction still in flight on some instance, so it is deleted only when the
     * next pass, an interval later, still finds it unknown.
     */
    @Scheduled(
            initialDelayString = "${sprig.api.reconcile-interval:30s}",
            fixedDelayString = "${sprig.api.reconcile-interval:30s}")
    public void periodic() {
        try {
            tx.executeWithoutResult(status -> {
                if (!lcs.tryAdvisoryLock(LOCK)) {
                    return;
                }
                Unknown unknown = unknown();
                List<Long> confirmed =
                        unknown.orphans().stream().filter(suspects::contains).toList();
                confirmed.forEach(backend::delete);
                suspects.clear();
                unknown.orphans().stream().filter(id -> !confirmed.contains(id)).forEach(suspects::add);
                logged(new Report(confirmed, unknown.missing(), unknown.foreign()));
            });
        } catch (SprigException.NodeUnavailable unavailable) {
            log.warn("Skipped a reconciliation pass: {}", unavailable.getMessage());
        }
    }

    /** One pass that deletes at once; run it only while nothing else changes lineage. */
    public Report reconcile() {
        Unknown unknown = unknown();
        unknown.orphans().forEach(backend::delete);
        return new Report(unknown.orphans(), unknown.missing(), unknown.foreign());
    }

    private record Unknown(List<Long> orphans, List<Long> missing, List<Long> foreign) {}

    private Unknown unknown() {
        // the allocation mark is read before the inventory, so an lc defined after it cannot pass
        // for an orphan of this database
        long lastAllocated = lcs.lastIdAllocated();
        Map<Long, HeldLc> held =
                backend.inventory().stream().collect(Collectors.toMap(HeldLc::lcId, Function.identity(), (a, b) -> a));
        List<Long> missing = new ArrayList<>();
        for (Lc lc : lcs.all()) {
            if (held.remove(lc.lcId()) == null) {
                missing.add(lc.lcId());
            }
        }
        // what is left is unknown to the database; a child has a larger id than its parent
        List<Long> unknown =
                held.keySet().stream().sorted(Comparator.reverseOrder()).toList();
        return new Unknown(
                unknown.stream().filter(id -> id <= lastAllocated).toList(),
                missing,
                unknown.stream().filter(id -> id > lastAllocated).toList());
    }

    private static void logged(Report report) {
        if (!report.missing().isEmpty()) {
            log.error(
                    "The storage backend lacks lcs {} that the database lists: their data is lost; the disks,"
                            + " snapshots and images on them, and clones of them, cannot be read",
                    report.missing());
        }
        if (!report.foreign().isEmpty()) {
            log.error(
                    "The storage backend holds {} lc(s) with ids this database never handed out (the first: {});"
                            + " is its data dir paired with another database? They are left alone",
                    report.foreign().size(),
                    report.foreign().get(0));
        }
        if (!report.orphansDeleted().isEmpty()) {
            log.info("Deleted lcs {} that the backend held and the database never committed", report.orphansDeleted());
        }
    }
}
