package dev.sprig.api.recovery;

import dev.sprig.api.backend.ReplicaCopies;
import dev.sprig.api.backend.ReplicaCopies.HeldSegment;
import dev.sprig.api.backend.ReplicaCopies.RebuildState;
import dev.sprig.api.lineage.Lc;
import dev.sprig.api.operation.OperationProgress;
import dev.sprig.api.placement.ReplicaSet;
import dev.sprig.api.placement.ReplicaSets;
import dev.sprig.engine.ChunkEngine;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A catch-up's work (decision 012): the member on a node that came back rejoined its column as
 * rebuilding, its lcs in catch-up mode (every segment it holds in the column suspect, pending); this
 * compares, lc by lc, the column's segment inventories (state and block CRCs) of the member and of
 * its rebuild source, names the segments that differ as suspect (which ends pending: every other
 * segment is trusted), then has the member replace the suspect ones from the source. Only segments
 * that differ are copied, and the progress counts their bytes. Then the frozen lcs are verified as
 * for a rebuild, and the caller promotes the member to in sync.
 *
 * <p>An lc made while the catch-up runs gets a plain rebuild source from the control path (the
 * member holds nothing of it but what live writes gave it): it is filled as a rebuild fills, only
 * segments the member does not hold. An lc that has no source any more means the node restarted
 * (sources are kept in memory) and may have merged writes with old segments: the catch-up fails, the
 * member goes back to stale and the next scan starts afresh.
 */
final class CatchUpWork {

    private static final Logger log = LoggerFactory.getLogger(CatchUpWork.class);

    private final RecoveryRepository recoveries;
    private final ReplicaSets sets;
    private final CopyPermits permits;
    private final long bytesPerSecond;

    CatchUpWork(RecoveryRepository recoveries, ReplicaSets sets, CopyPermits permits, long bytesPerSecond) {
        this.recoveries = recoveries;
        this.sets = sets;
        this.permits = permits;
        this.bytesPerSecond = bytesPerSecond;
    }

    void perform(ReplicaCopies copies, Recovery recovery, OperationProgress progress) {
        String member = recovery.newNodeId();
        rebuildingSet(recovery);
        List<ReplicaSet> family = sets.of(recovery.familyId());
        int columns = family.size();
        String source = ReplicaSets.rebuildSource(family, member, -1)
                .orElseThrow(() -> new IllegalStateException("no node is in sync in every column where node " + member
                        + " is; nothing to catch it up from"));
        List<Lc> lcs = recoveries.lcsOf(recovery.familyId());
        // lcs made since the catch-up started and not yet defined on it (the control path defines them)
        List<Long> defined = copies.define(member, RecoveryWork.specs(lcs));
        for (long lcId : defined) {
            copies.setRebuildSource(member, source, lcId);
        }
        // what differs, lc by lc: the plan, and the progress's total
        Map<Lc, List<Long>> suspects = new LinkedHashMap<>();
        Map<Lc, TreeSet<Long>> plain = new LinkedHashMap<>();
        long total = 0;
        long differed = 0;
        for (Lc lc : lcs) {
            RebuildState state = unlessDeleted(lc, () -> copies.rebuildState(member, lc.lcId()));
            if (state == null) {
                continue;
            }
            if (state == RebuildState.NONE) {
                throw lostSources(member, lc);
            }
            List<HeldSegment> theirs = unlessDeleted(
                    lc, () -> copies.heldSegments(source, lc.lcId(), lc.sizeBytes(), recovery.column(), columns));
            if (theirs == null) {
                continue;
            }
            if (state == RebuildState.PLAIN) {
                // made during the catch-up: filled as a rebuild fills, the PCs where the source holds anything
                plain.put(lc, new TreeSet<>(theirs.stream().map(HeldSegment::pc).toList()));
                total += theirs.stream().filter(s -> !s.zero()).count() * ChunkEngine.SEGMENT_SIZE;
                continue;
            }
            List<HeldSegment> ours = unlessDeleted(
                    lc, () -> copies.heldSegments(member, lc.lcId(), lc.sizeBytes(), recovery.column(), columns));
            if (ours == null) {
                continue;
            }
            List<Long> differ = differing(theirs, ours);
            Long marked = unlessDeleted(lc, () -> copies.markSuspects(member, lc.lcId(), differ));
            if (marked == null) {
                continue;
            }
            suspects.put(lc, differ);
            differed += marked;
            total += marked * ChunkEngine.SEGMENT_SIZE;
        }
        long done = 0;
        progress.report(done, total);
        long copied = 0;
        long segments = 0;
        for (Map.Entry<Lc, List<Long>> lc : suspects.entrySet()) {
            if (lc.getValue().isEmpty()) {
                continue;
            }
            rebuildingSet(recovery);
            long id = lc.getKey().lcId();
            Long bytes = unlessDeleted(
                    lc.getKey(),
                    () -> permits.run(
                            member,
                            source,
                            () -> copies.fillSuspects(
                                    member, source, id, lc.getValue().size(), bytesPerSecond)));
            if (bytes != null) {
                copied += bytes;
                segments += bytes / ChunkEngine.SEGMENT_SIZE;
                done = Math.min(total, done + bytes);
                progress.report(done, Math.max(done, total));
            }
        }
        for (Map.Entry<Lc, TreeSet<Long>> lc : plain.entrySet()) {
            rebuildingSet(recovery);
            long id = lc.getKey().lcId();
            for (long at : lc.getValue()) {
                Long bytes = unlessDeleted(
                        lc.getKey(),
                        () -> permits.run(member, source, () -> copies.fill(member, source, id, at, bytesPerSecond)));
                if (bytes == null) {
                    break;
                }
                copied += bytes;
                segments += bytes / ChunkEngine.SEGMENT_SIZE;
                done += bytes;
                progress.report(done, Math.max(done, total));
            }
        }
        progress.report(Math.max(done, total), Math.max(done, total));
        log.info(
                "Recovery {}: caught up node {} in column {} of family {} from node {}: {} segments differed in {}"
                        + " lcs ({} lcs new), {} segments ({} bytes) copied",
                recovery.operationId(),
                member,
                recovery.column(),
                recovery.familyId(),
                source,
                differed,
                suspects.values().stream().filter(list -> !list.isEmpty()).count(),
                plain.size(),
                segments,
                copied);
        verify(copies, recovery, source, columns);
    }

    /**
     * The segments ({@code pc * 16 + segment}) whose inventory entries differ: held by one and not the
     * other, or held by both as different states or CRCs.
     */
    static List<Long> differing(List<HeldSegment> theirs, List<HeldSegment> ours) {
        Map<Long, HeldSegment> a = bySegment(theirs);
        Map<Long, HeldSegment> b = bySegment(ours);
        TreeSet<Long> keys = new TreeSet<>(a.keySet());
        keys.addAll(b.keySet());
        List<Long> differ = new ArrayList<>();
        for (long key : keys) {
            if (!Objects.equals(a.get(key), b.get(key))) {
                differ.add(key);
            }
        }
        return differ;
    }

    private static Map<Long, HeldSegment> bySegment(List<HeldSegment> held) {
        Map<Long, HeldSegment> by = new HashMap<>();
        held.forEach(segment -> by.put(segment.pc() * ChunkEngine.SEGMENTS_PER_PC + segment.segment(), segment));
        return by;
    }

    /**
     * Before the member may be in sync again: each of its lcs still has its source (one that lost
     * them restarted meanwhile), and each frozen lc reads, segment by segment, as on the source.
     */
    private void verify(ReplicaCopies copies, Recovery recovery, String source, int columns) {
        for (Lc lc : recoveries.lcsOf(recovery.familyId())) {
            RebuildState state = unlessDeleted(lc, () -> copies.rebuildState(recovery.newNodeId(), lc.lcId()));
            if (state == RebuildState.NONE) {
                throw lostSources(recovery.newNodeId(), lc);
            }
            if (state != null && lc.frozen()) {
                unlessDeleted(lc, () -> {
                    RecoveryWork.compare(copies, source, recovery, lc, columns);
                    return Boolean.TRUE;
                });
            }
        }
    }

    private static IllegalStateException lostSources(String member, Lc lc) {
        return new IllegalStateException("node " + member + " lost the rebuild source of lc " + lc.lcId()
                + ": it restarted while being caught up, and its copy cannot be trusted");
    }

    private <T> @Nullable T unlessDeleted(Lc lc, Supplier<T> call) {
        try {
            return call.get();
        } catch (RuntimeException failed) {
            if (recoveries.lcExists(lc.lcId())) {
                throw failed;
            }
            return null;
        }
    }

    private ReplicaSet rebuildingSet(Recovery recovery) {
        return sets.of(recovery.familyId()).stream()
                .filter(set -> set.column() == recovery.column() && set.hasRebuilding(recovery.newNodeId()))
                .findFirst()
                .orElseThrow(() -> new IllegalStateException("node " + recovery.newNodeId()
                        + " is no longer rebuilding in column " + recovery.column() + " of family "
                        + recovery.familyId()));
    }
}
