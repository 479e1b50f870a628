package dev.sprig.api.lineage;

import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.backend.StorageBackend.HeldLc;
import dev.sprig.api.error.SprigException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.stereotype.Service;

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

    private final LcRepository lcs;
    private final StorageBackend backend;

    Reconciler(LcRepository lcs, StorageBackend backend) {
        this.lcs = lcs;
        this.backend = backend;
    }

    /** What one pass deleted, and what it found missing. */
    public record Report(List<Long> orphansDeleted, List<Long> missing, List<Long> foreign) {}

    @Override
    public void afterSingletonsInstantiated() {
        Report report;
        try {
            report = reconcile();
        } catch (SprigException.NodeUnavailable unavailable) {
            log.warn("Skipped reconciling the storage backend at start-up: {}", unavailable.getMessage());
            return;
        }
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

    /** One pass; run it while nothing else changes lineage (at start-up). */
    public Report reconcile() {
        Map<Long, HeldLc> held =
                backend.inventory().stream().collect(Collectors.toMap(HeldLc::lcId, Function.identity()));
        List<Long> missing = new ArrayList<>();
        for (Lc lc : lcs.all()) {
            if (held.remove(lc.lcId()) == null) {
                missing.add(lc.lcId());
            }
        }
        // what is left is unknown to the database; a child has a larger id than its parent
        long lastAllocated = lcs.lastIdAllocated();
        List<Long> unknown =
                held.keySet().stream().sorted(Comparator.reverseOrder()).toList();
        List<Long> foreign = unknown.stream().filter(id -> id > lastAllocated).toList();
        List<Long> orphans = unknown.stream().filter(id -> id <= lastAllocated).toList();
        orphans.forEach(backend::delete);
        return new Report(orphans, missing, foreign);
    }
}
