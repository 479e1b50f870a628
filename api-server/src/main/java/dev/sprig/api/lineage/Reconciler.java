package dev.sprig.api.lineage;

import dev.sprig.api.SprigApiProperties;
import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.backend.StorageBackend.HeldLc;
import dev.sprig.api.backend.StorageBackend.LcSpec;
import dev.sprig.api.error.SprigException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
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
 * are reported, never redefined empty under the disks and clones that read from them. On replica
 * sets that means an lc missing on any in-sync member of its family; a stale member is not expected
 * to be complete. Each pass also brings the nodes' fences up to the database's epochs, and deletes
 * stray copies: a node's copies of a family whose sets it is no member of while the family is
 * settled (every column at full strength and in sync), as a node replaced while down keeps them when
 * it returns; like an orphan, a stray goes on the second pass that finds it.
 */
@Service
public class Reconciler implements SmartInitializingSingleton {

    private static final Logger log = LoggerFactory.getLogger(Reconciler.class);

    /** The advisory lock that makes one api-server instance reconcile at a time. */
    private static final int LOCK = 0x53526563; // "SRec"

    private final LcRepository lcs;
    private final ResourceRepository resources;
    private final StorageBackend backend;
    private final TransactionTemplate tx;
    private final boolean ownsItsBackend;
    /**
     * Lcs the last pass found on the backend and not in the database, each with the transaction id
     * given to the pass that first saw it ({@code givenNow}, just after the backend was listed).
     */
    private final Map<Long, Long> suspects = new ConcurrentHashMap<>();
    /** Stray copies the last pass found, as holder and lc id. */
    private final Set<StrayCopy> straySuspects = ConcurrentHashMap.newKeySet();

    Reconciler(
            LcRepository lcs,
            ResourceRepository resources,
            StorageBackend backend,
            TransactionTemplate tx,
            SprigApiProperties properties) {
        this.lcs = lcs;
        this.resources = resources;
        this.backend = backend;
        this.tx = tx;
        this.ownsItsBackend = properties.backend().type().equals("embedded");
    }

    /** What one pass deleted, and what it found missing. */
    /**
     * @param disksMoved disks whose lc the backend had frozen while the database had not: they now
     *     write to a new child
     */
    /** @param strayCopiesDeleted the stray copies deleted, by the node that held them */
    public record Report(
            List<Long> orphansDeleted,
            List<Long> missing,
            List<Long> foreign,
            List<String> disksMoved,
            Map<String, List<Long>> strayCopiesDeleted) {}

    /** Node {@code holder}'s copy of lc {@code lcId} of family {@code familyId}, no member of its sets. */
    record StrayCopy(String holder, long lcId, long familyId) {}

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
     * may belong to a transaction still in flight on some instance (one defines its lcs on the
     * backend before it commits them), so it is deleted only when a later pass still finds it
     * unknown and every transaction that was running when it was first seen has ended: however long
     * a define on slow nodes keeps its transaction open, its lcs are not taken for orphans.
     *
     * @return what the pass did; none when another instance holds the lock
     */
    @Scheduled(
            initialDelayString = "${sprig.api.reconcile-interval:30s}",
            fixedDelayString = "${sprig.api.reconcile-interval:30s}")
    public @Nullable Report periodic() {
        try {
            return tx.execute(status -> {
                if (!lcs.tryAdvisoryLock(LOCK)) {
                    return null;
                }
                Unknown unknown = unknown();
                // taken after the backend was listed: a transaction that defined an lc seen there has
                // an id below givenNow, and has ended once oldestRunning reaches it
                LcRepository.TransactionHorizon now = lcs.transactionHorizon();
                List<Long> confirmed = unknown.orphans().stream()
                        .filter(id -> suspects.getOrDefault(id, Long.MAX_VALUE) <= now.oldestRunning())
                        .toList();
                confirmed.forEach(backend::delete);
                Map<Long, Long> stillSuspected = new HashMap<>();
                unknown.orphans().stream()
                        .filter(id -> !confirmed.contains(id))
                        .forEach(id -> stillSuspected.put(id, suspects.getOrDefault(id, now.givenNow())));
                suspects.clear();
                suspects.putAll(stillSuspected);
                List<String> moved = finishMoves(unknown.frozenOnlyInBackend());
                List<StrayCopy> confirmedStrays = unknown.strays().stream()
                        .filter(straySuspects::contains)
                        .toList();
                Map<String, List<Long>> straysDeleted = deleteStrays(confirmedStrays);
                straySuspects.clear();
                unknown.strays().stream()
                        .filter(stray -> !confirmedStrays.contains(stray))
                        .forEach(straySuspects::add);
                Report report = new Report(confirmed, unknown.missing(), unknown.foreign(), moved, straysDeleted);
                logged(report);
                backend.pushFences();
                return report;
            });
        } catch (SprigException.NodeUnavailable | SprigException.InsufficientReplicas unavailable) {
            log.warn("Skipped a reconciliation pass: {}", unavailable.getMessage());
            return null;
        }
    }

    /** One pass that deletes at once; run it only while nothing else changes lineage. */
    public Report reconcile() {
        Unknown unknown = unknown();
        unknown.orphans().forEach(backend::delete);
        List<String> moved = finishMoves(unknown.frozenOnlyInBackend());
        backend.pushFences();
        return new Report(unknown.orphans(), unknown.missing(), unknown.foreign(), moved, Map.of());
    }

    private record Unknown(
            List<Long> orphans,
            List<Long> missing,
            List<Long> foreign,
            List<Long> frozenOnlyInBackend,
            List<StrayCopy> strays) {}

    /**
     * Deletes each node's stray copies, children first (a child has a larger id than its parent);
     * one the node is a member for again by now, or that it fails to delete, stays. A node that fails
     * keeps the rest of its strays for a later pass.
     */
    private Map<String, List<Long>> deleteStrays(List<StrayCopy> strays) {
        Map<String, List<Long>> deleted = new TreeMap<>();
        Map<String, List<StrayCopy>> byHolder = strays.stream()
                .sorted(Comparator.comparingLong(StrayCopy::lcId).reversed())
                .collect(Collectors.groupingBy(StrayCopy::holder, TreeMap::new, Collectors.toList()));
        byHolder.forEach((holder, copies) -> {
            for (StrayCopy stray : copies) {
                try {
                    if (backend.deleteStrayCopy(holder, stray.lcId(), stray.familyId())) {
                        deleted.computeIfAbsent(holder, node -> new ArrayList<>())
                                .add(stray.lcId());
                    }
                } catch (RuntimeException failed) {
                    log.warn(
                            "Node {} keeps its stray copy of lc {} for a later pass: {}",
                            holder,
                            stray.lcId(),
                            failed.getMessage());
                    return;
                }
            }
        });
        return deleted;
    }

    /**
     * Compares the two sides while other instances go on creating and deleting lcs, in an order that
     * raises no false alarm. The database is read first: an lc it lists was pushed to the backend
     * before its transaction committed, so the backend's list, read next, holds it unless it was
     * deleted meanwhile; and a deletion removes the row before the backend's copy, so an lc missing
     * from the backend counts as lost only if the database still lists it afterwards. (Reading the
     * backend first reported every lc created between the two reads as lost.) The allocation mark is
     * read last: every id this database handed out before the backend's list was read is at most
     * it, so a larger id in that list was never this database's.
     */
    private Unknown unknown() {
        Map<Long, Lc> listed = lcs.all().stream().collect(Collectors.toMap(Lc::lcId, Function.identity()));
        StorageBackend.Inventory inventory = backend.inventory();
        Map<Long, HeldLc> held = inventory.held().stream()
                // an lc some node holds frozen counts as frozen: a freeze cannot be undone
                .collect(Collectors.toMap(HeldLc::lcId, Function.identity(), (a, b) -> a.frozen() ? a : b));
        long lastAllocated = lcs.lastIdAllocated();
        List<Long> absent = new ArrayList<>();
        Map<Long, List<String>> lackedBy = new HashMap<>();
        List<Long> frozenOnlyInBackend = new ArrayList<>();
        for (Lc lc : listed.values()) {
            HeldLc copy = held.get(lc.lcId());
            // every in-sync member of a replicated family holds all its lcs; a stale one need not
            List<String> lacking = inventory.lacking(lc.lcId(), lc.familyId());
            if (copy == null || !lacking.isEmpty()) {
                absent.add(lc.lcId());
                lackedBy.put(lc.lcId(), lacking);
            }
            if (copy != null && copy.frozen() && !lc.frozen()) {
                frozenOnlyInBackend.add(lc.lcId());
            }
        }
        List<Long> missing = absent.isEmpty() ? List.of() : stillListed(absent);
        missing.stream()
                .filter(lcId -> !lackedBy.get(lcId).isEmpty())
                .limit(20)
                .forEach(lcId -> log.error(
                        "In-sync storage nodes {} lack lc {} that the database lists", lackedBy.get(lcId), lcId));
        // what the backend holds beyond the database's list; a child has a larger id than its parent
        List<Long> unknown = held.keySet().stream()
                .filter(id -> !listed.containsKey(id))
                .sorted(Comparator.reverseOrder())
                .toList();
        List<StrayCopy> strays = new ArrayList<>();
        inventory
                .heldBy()
                .forEach((holder, ids) -> ids.forEach(lcId -> {
                    Lc lc = listed.get(lcId);
                    if (lc != null && inventory.stray(holder, lcId, lc.familyId())) {
                        strays.add(new StrayCopy(holder, lcId, lc.familyId()));
                    }
                }));
        return new Unknown(
                unknown.stream().filter(id -> id <= lastAllocated).toList(),
                missing,
                unknown.stream().filter(id -> id > lastAllocated).toList(),
                frozenOnlyInBackend.stream().sorted().toList(),
                strays);
    }

    /** Those of {@code lcIds} the database lists now, in order. */
    private List<Long> stillListed(List<Long> lcIds) {
        Set<Long> now = lcs.all().stream().map(Lc::lcId).collect(Collectors.toSet());
        return lcIds.stream().filter(now::contains).sorted().toList();
    }

    /**
     * A snapshot or a clone of a disk freezes the disk's lc on the backend before its transaction
     * commits; when the transaction then fails (a node down, a crash), the backend keeps the lc
     * frozen, which cannot be undone, while the database still has the disk writing to it. The move
     * is finished instead: the lc becomes an implicit snapshot in the database too, and the disk
     * goes on in a new writable child, as if the clone had gone through. Returns the disks moved.
     */
    private List<String> finishMoves(List<Long> frozenOnlyInBackend) {
        List<String> moved = new ArrayList<>();
        for (long lcId : frozenOnlyInBackend) {
            String disk = tx.execute(status -> {
                Resource owner = resources.lockOnLc(lcId).orElse(null);
                Lc current = lcs.lock(lcId).orElse(null);
                if (owner == null || current == null || current.frozen() || owner.kind() != ResourceKind.DISK) {
                    return null;
                }
                Lc next = current.child(lcs.nextId(), current.sizeBytes());
                lcs.freeze(lcId);
                lcs.insertAll(List.of(next));
                resources.setLc(owner.externId(), next.lcId());
                backend.freeze(lcId);
                backend.define(List.of(new LcSpec(next.lcId(), lcId, next.familyId(), next.sizeBytes(), false)));
                return owner.externId();
            });
            if (disk != null) {
                moved.add(disk);
            }
        }
        return moved;
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
        if (!report.disksMoved().isEmpty()) {
            log.warn(
                    "Disks {} wrote to lcs the backend had frozen in a snapshot or clone that did not commit;"
                            + " they now write to new children of those lcs",
                    report.disksMoved());
        }
        report.strayCopiesDeleted()
                .forEach((holder, lcIds) -> log.info(
                        "Deleted node {}'s copies of lcs {}: it is a member of none of their families' sets, which"
                                + " are complete without it",
                        holder,
                        lcIds));
        if (!report.orphansDeleted().isEmpty()) {
            log.info("Deleted lcs {} that the backend held and the database never committed", report.orphansDeleted());
        }
    }
}
