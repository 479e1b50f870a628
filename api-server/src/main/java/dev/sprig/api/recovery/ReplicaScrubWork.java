package dev.sprig.api.recovery;

import dev.sprig.api.SprigApiProperties;
import dev.sprig.api.backend.ReplicaCopies;
import dev.sprig.api.backend.ReplicaCopies.HeldSegment;
import dev.sprig.api.backend.ReplicaCopies.Repaired;
import dev.sprig.api.backend.ReplicaCopies.SegmentRepair;
import dev.sprig.api.backend.ReplicaCopies.StoredSegment;
import dev.sprig.api.lineage.Lc;
import dev.sprig.api.node.Node;
import dev.sprig.api.node.NodeRegistry;
import dev.sprig.api.operation.Operation;
import dev.sprig.api.operation.OperationProgress;
import dev.sprig.api.operation.OperationRepository;
import dev.sprig.api.operation.OperationWork;
import dev.sprig.api.placement.ReplicaSet;
import dev.sprig.api.placement.ReplicaSets;
import dev.sprig.api.recovery.ReplicaComparison.Finding;
import dev.sprig.engine.ChunkEngine;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.stereotype.Component;

/**
 * A replica scrub (issue 20). First every live node checks each segment it stores against its own
 * block CRCs (the node scrub), which finds a copy that rotted on disk. Then, replica set by replica
 * set, the in-sync members list what they hold in the set's column, lc by lc, and {@link
 * ReplicaComparison} says which copies are wrong and which member holds the good one; each wrong
 * copy is repaired node to node ({@code POST /v1/lcs/{id}:repair}), or recorded as unresolved.
 *
 * <p><b>Writes in flight.</b> A write reaches the members of its set one after another, so a
 * listing may catch it on one member and not yet on another. A difference counts only if both
 * listings, {@code sprig.api.scrub.settle} apart, show it unchanged, and the set's epoch is the same
 * after the second (a member too slow for a write is dropped, which bumps it). The node repairs a
 * segment only if neither copy changed since the listing (a compare-and-replace under the segment's
 * lock), so a write that lands meanwhile is never undone. A segment that rotted is repaired only
 * with bytes that match its own, intact, CRCs.
 *
 * <p>Sets with a member rebuilding or a recovery running are left to the recovery. Every repair and
 * every unresolved segment is logged and recorded ({@code replica_repair}): the node views and
 * {@code sprig_replica_repairs} count them.
 */
@Component
class ReplicaScrubWork implements OperationWork {

    private static final Logger log = LoggerFactory.getLogger(ReplicaScrubWork.class);

    private final ReplicaSets sets;
    private final NodeRegistry registry;
    private final ObjectProvider<ReplicaCopies> copiesProvider;
    private final RecoveryRepository recoveries;
    private final ReplicaRepairRepository repairs;
    private final OperationRepository operations;
    private final SprigApiProperties.Scrub settings;

    ReplicaScrubWork(
            ReplicaSets sets,
            NodeRegistry registry,
            ObjectProvider<ReplicaCopies> copies,
            RecoveryRepository recoveries,
            ReplicaRepairRepository repairs,
            OperationRepository operations,
            SprigApiProperties properties) {
        this.sets = sets;
        this.registry = registry;
        this.copiesProvider = copies;
        this.recoveries = recoveries;
        this.repairs = repairs;
        this.operations = operations;
        this.settings = properties.scrub();
    }

    @Override
    public Operation.Kind kind() {
        return Operation.Kind.SCRUB;
    }

    @Override
    public void perform(Operation operation, OperationProgress progress) {
        ReplicaCopies copies = copiesProvider.getIfAvailable();
        if (copies == null) {
            progress.report(0, 0);
            return;
        }
        Set<String> live = new HashSet<>();
        for (Node node : registry.all()) {
            Node.State state = registry.stateOf(node);
            if (state == Node.State.UP || state == Node.State.DRAINING) {
                live.add(node.nodeId());
            }
        }
        Map<String, Set<StoredSegment>> damaged = new HashMap<>();
        for (String nodeId : live) {
            try {
                damaged.put(nodeId, Set.copyOf(copies.damagedSegments(nodeId, settings.nodeTimeout())));
            } catch (RuntimeException failed) {
                log.warn(
                        "Scrub {}: node {} could not check its own segments, its copies are only compared: {}",
                        operation.id(),
                        nodeId,
                        failed.getMessage());
            }
        }
        List<Long> families = repairs.familiesWithReplicaSets();
        List<ReplicaSet> all = sets.of(families);
        long done = 0;
        progress.report(done, all.size());
        Tally tally = new Tally();
        for (long familyId : families) {
            List<ReplicaSet> family = sets.of(familyId);
            List<Lc> lcs = recoveries.lcsOf(familyId);
            for (ReplicaSet set : family) {
                scrub(operation, copies, set, family.size(), lcs, live, damaged, tally);
                progress.report(++done, Math.max(done, all.size()));
            }
        }
        log.info(
                "Scrub {}: {} replica sets, {} segment copies compared; {} repaired (rotted), {} repaired (differed),"
                        + " {} skipped (written meanwhile), {} unresolved",
                operation.id(),
                all.size(),
                tally.compared,
                tally.repairedDamaged,
                tally.repairedDiffered,
                tally.skipped,
                tally.unresolved);
    }

    private static final class Tally {
        long compared;
        long repairedDamaged;
        long repairedDiffered;
        long skipped;
        long unresolved;
    }

    private void scrub(
            Operation operation,
            ReplicaCopies copies,
            ReplicaSet set,
            int columns,
            List<Lc> lcs,
            Set<String> live,
            Map<String, Set<StoredSegment>> damaged,
            Tally tally) {
        List<String> members =
                set.inSyncNodeIds().stream().filter(live::contains).toList();
        if (members.size() < 2
                || !set.rebuilding().isEmpty()
                || operations
                        .runningOn(Recovery.target(set.familyId(), set.column()))
                        .isPresent()) {
            return;
        }
        Map<Lc, Map<String, Map<Long, HeldSegment>>> first = new LinkedHashMap<>();
        Map<Lc, List<Finding>> findings = new LinkedHashMap<>();
        boolean anyDiffered = false;
        for (Lc lc : lcs) {
            Map<String, Map<Long, HeldSegment>> held = listing(copies, lc, members, set.column(), columns);
            if (held == null) {
                continue; // deleted meanwhile
            }
            held.values().forEach(bySegment -> tally.compared += bySegment.size());
            List<Finding> found = ReplicaComparison.compare(held, damagedIn(damaged, members, lc.lcId()));
            if (!found.isEmpty()) {
                first.put(lc, held);
                findings.put(lc, found);
                anyDiffered |= found.stream().anyMatch(f -> f.reason() == ReplicaComparison.Reason.DIFFERED);
            }
        }
        if (findings.isEmpty()) {
            return;
        }
        if (anyDiffered) {
            sleep(settings.settle());
            for (Map.Entry<Lc, List<Finding>> entry : findings.entrySet()) {
                Lc lc = entry.getKey();
                Map<String, Map<Long, HeldSegment>> again = listing(copies, lc, members, set.column(), columns);
                Map<String, Map<Long, HeldSegment>> before = first.get(lc);
                entry.setValue(entry.getValue().stream()
                        .filter(f -> f.reason() == ReplicaComparison.Reason.DAMAGED
                                || (again != null && unchanged(before, again, f.segment())))
                        .toList());
            }
        }
        Optional<ReplicaSet> now = sets.of(set.familyId()).stream()
                .filter(other -> other.column() == set.column())
                .findFirst();
        if (now.isEmpty() || now.get().epoch() != set.epoch()) {
            log.info(
                    "Scrub {}: column {} of family {} changed members while it was compared; left to the next scrub",
                    operation.id(),
                    set.column(),
                    set.familyId());
            return;
        }
        for (Map.Entry<Lc, List<Finding>> entry : findings.entrySet()) {
            for (Finding finding : entry.getValue()) {
                settle(operation, copies, set, entry.getKey(), finding, tally);
            }
        }
    }

    private void settle(
            Operation operation, ReplicaCopies copies, ReplicaSet set, Lc lc, Finding finding, Tally tally) {
        long pc = finding.segment() / ChunkEngine.SEGMENTS_PER_PC;
        int segment = (int) (finding.segment() % ChunkEngine.SEGMENTS_PER_PC);
        String where = "segment " + segment + " of PC " + pc + " of lc " + lc.lcId() + " (column " + set.column()
                + " of family " + set.familyId() + ")";
        String what = finding.reason() == ReplicaComparison.Reason.DAMAGED
                ? "rotted on disk"
                : "differed from the other members'";
        if (!finding.resolved()) {
            tally.unresolved++;
            repairs.record(operation.id(), set, lc.lcId(), finding, false);
            log.error(
                    "Scrub {}: node {}'s copy of {} {}, and no member holds a copy to trust (no majority, or none"
                            + " intact): left as it is for an operator",
                    operation.id(),
                    finding.nodeId(),
                    where,
                    what);
            return;
        }
        Repaired repaired;
        try {
            repaired = copies.repair(
                    finding.nodeId(),
                    finding.source(),
                    lc.lcId(),
                    List.of(new SegmentRepair(pc, segment, finding.held(), finding.wanted())));
        } catch (RuntimeException failed) {
            if (!recoveries.lcExists(lc.lcId())) {
                return;
            }
            log.warn(
                    "Scrub {}: repairing node {}'s copy of {} from node {} failed: {}",
                    operation.id(),
                    finding.nodeId(),
                    where,
                    finding.source(),
                    failed.getMessage());
            return;
        }
        if (repaired.repaired() == 0) {
            tally.skipped++;
            log.info(
                    "Scrub {}: node {}'s copy of {} changed since it was compared; the next scrub compares it again",
                    operation.id(),
                    finding.nodeId(),
                    where);
            return;
        }
        if (finding.reason() == ReplicaComparison.Reason.DAMAGED) {
            tally.repairedDamaged++;
        } else {
            tally.repairedDiffered++;
        }
        repairs.record(operation.id(), set, lc.lcId(), finding, true);
        log.warn(
                "Scrub {}: node {}'s copy of {} {}; repaired from node {}",
                operation.id(),
                finding.nodeId(),
                where,
                what,
                finding.source());
    }

    /** Per member, its segments of the lc in the set's column by number; null if the lc is gone. */
    private Map<String, Map<Long, HeldSegment>> listing(
            ReplicaCopies copies, Lc lc, List<String> members, int column, int columns) {
        Map<String, Map<Long, HeldSegment>> held = new LinkedHashMap<>();
        try {
            for (String member : members) {
                Map<Long, HeldSegment> bySegment = new HashMap<>();
                for (HeldSegment segment : copies.heldSegments(member, lc.lcId(), lc.sizeBytes(), column, columns)) {
                    bySegment.put(segment.pc() * ChunkEngine.SEGMENTS_PER_PC + segment.segment(), segment);
                }
                held.put(member, bySegment);
            }
        } catch (RuntimeException failed) {
            if (!recoveries.lcExists(lc.lcId())) {
                return null;
            }
            throw failed;
        }
        return held;
    }

    private static Map<String, Set<Long>> damagedIn(
            Map<String, Set<StoredSegment>> damaged, List<String> members, long lcId) {
        Map<String, Set<Long>> found = new HashMap<>();
        for (String member : members) {
            Set<Long> segments = new HashSet<>();
            for (StoredSegment segment : damaged.getOrDefault(member, Set.of())) {
                if (segment.lcId() == lcId) {
                    segments.add(segment.pc() * ChunkEngine.SEGMENTS_PER_PC + segment.segment());
                }
            }
            found.put(member, segments);
        }
        return found;
    }

    private static boolean unchanged(
            Map<String, Map<Long, HeldSegment>> before, Map<String, Map<Long, HeldSegment>> after, long segment) {
        for (Map.Entry<String, Map<Long, HeldSegment>> member : before.entrySet()) {
            Map<Long, HeldSegment> later = after.get(member.getKey());
            if (later == null || !java.util.Objects.equals(member.getValue().get(segment), later.get(segment))) {
                return false;
            }
        }
        return true;
    }

    private static void sleep(Duration settle) {
        try {
            Thread.sleep(settle.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("the scrub was interrupted", e);
        }
    }

    @Override
    public Runnable succeed(Operation operation) {
        return () -> {};
    }

    @Override
    public void fail(Operation operation, String error) {}
}
