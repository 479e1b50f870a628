package dev.sprig.api.recovery;

import dev.sprig.api.SprigApiProperties;
import dev.sprig.api.backend.ReplicaCopies;
import dev.sprig.api.backend.ReplicaCopies.HeldSegment;
import dev.sprig.api.backend.StorageBackend.LcSpec;
import dev.sprig.api.error.SprigException;
import dev.sprig.api.lineage.Lc;
import dev.sprig.api.operation.Operation;
import dev.sprig.api.operation.OperationProgress;
import dev.sprig.api.operation.OperationWork;
import dev.sprig.api.placement.ReplicaSet;
import dev.sprig.api.placement.ReplicaSets;
import dev.sprig.engine.ChunkEngine;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.stereotype.Component;

/**
 * A recovery's work (decision 012): defines the family's lcs on the new member (frozen ones
 * frozen), fills each lc, parents before children, PC by PC from an in-sync member of the column,
 * then compares the inventories (segment states and block CRCs) of the frozen lcs with the source's;
 * only then, in the transaction that ends the operation, the new member becomes in sync and the old
 * one leaves the set (the epoch goes up). Lcs made while it runs are defined on the new member by
 * the control path (it is a member) and filled by a further pass here.
 *
 * <p>Resumable: the lcs whose fill finished are recorded as it goes and not filled again, and a fill
 * of the lc it was in the middle of copies only the segments the new member does not hold yet. The
 * progress counts the bytes of data segments the source holds in the column, done and in all.
 *
 * <p>Failing (the new member does not answer, no in-sync member can serve as the source, a frozen lc
 * differs after its fill) drops the new member: it is marked stale, and the next scan picks another.
 */
@Component
class RecoveryWork implements OperationWork {

    private static final Logger log = LoggerFactory.getLogger(RecoveryWork.class);

    private final RecoveryRepository recoveries;
    private final ReplicaSets sets;
    private final ObjectProvider<ReplicaCopies> copiesProvider;
    private final CopyPermits permits;
    private final long bytesPerSecond;

    RecoveryWork(
            RecoveryRepository recoveries,
            ReplicaSets sets,
            ObjectProvider<ReplicaCopies> copies,
            SprigApiProperties properties) {
        this.recoveries = recoveries;
        this.sets = sets;
        this.copiesProvider = copies;
        this.permits = new CopyPermits(properties.recovery().concurrentCopies());
        this.bytesPerSecond = properties.recovery().bytesPerSecondPerCopy();
    }

    @Override
    public Operation.Kind kind() {
        return Operation.Kind.RECOVERY;
    }

    @Override
    public void perform(Operation operation, OperationProgress progress) {
        ReplicaCopies copies = copiesProvider.getIfAvailable();
        if (copies == null) {
            throw new IllegalStateException("recoveries need the nodes backend");
        }
        Recovery recovery = recovery(operation);
        Set<Long> filled = new HashSet<>(recovery.filledLcIds());
        while (true) {
            ReplicaSet set = rebuildingSet(recovery);
            int columns = sets.of(recovery.familyId()).size();
            List<Lc> lcs = recoveries.lcsOf(recovery.familyId());
            copies.define(recovery.newNodeId(), specs(lcs));
            // what the source holds in the column, lc by lc: the plan, and the progress's total
            Map<Lc, Map<Long, Long>> plan = new LinkedHashMap<>();
            long total = 0;
            long done = 0;
            for (Lc lc : lcs) {
                List<HeldSegment> held = unlessDeleted(lc, () -> held(copies, set, recovery, lc, columns));
                if (held == null) {
                    continue;
                }
                Map<Long, Long> bytesByPc = bytesByPc(held);
                long bytes =
                        bytesByPc.values().stream().mapToLong(Long::longValue).sum();
                total += bytes;
                if (filled.contains(lc.lcId())) {
                    done += bytes;
                } else {
                    plan.put(lc, bytesByPc);
                }
            }
            if (plan.isEmpty()) {
                progress.report(done, total);
                break;
            }
            progress.report(done, total);
            for (Map.Entry<Lc, Map<Long, Long>> lc : plan.entrySet()) {
                // the new member may have been dropped meanwhile (an agent's write to it failed)
                ReplicaSet now = rebuildingSet(recovery);
                done = fill(copies, now, recovery, lc.getKey(), lc.getValue(), done, total, progress);
                recoveries.filled(operation.id(), lc.getKey().lcId());
                filled.add(lc.getKey().lcId());
            }
        }
        verify(copies, recovery);
    }

    /** Fills the lc's PCs in the column from an in-sync member; {@code done} plus what it covered. */
    private long fill(
            ReplicaCopies copies,
            ReplicaSet set,
            Recovery recovery,
            Lc lc,
            Map<Long, Long> bytesByPc,
            long done,
            long total,
            OperationProgress progress) {
        if (!bytesByPc.isEmpty() && !set.readOrder().isEmpty()) {
            copies.announceRebuildSource(recovery.newNodeId(), set.readOrder().get(0), lc.lcId());
        }
        for (Map.Entry<Long, Long> pc : bytesByPc.entrySet()) {
            try {
                fromAnySource(
                        set,
                        recovery,
                        source -> permits.run(
                                recovery.newNodeId(),
                                source,
                                () -> copies.fill(
                                        recovery.newNodeId(), source, lc.lcId(), pc.getKey(), bytesPerSecond)));
            } catch (RuntimeException failed) {
                if (!recoveries.lcExists(lc.lcId())) {
                    log.debug("lc {} was deleted during recovery {}", lc.lcId(), recovery.operationId());
                    return done;
                }
                throw failed;
            }
            done += pc.getValue();
            progress.report(done, total);
        }
        return done;
    }

    /**
     * The frozen lcs hold, on the new member, exactly the segments (states and block CRCs) they hold
     * on an in-sync member. Writable ones are not compared: live writes reach the members at
     * slightly different times, and a rebuilding lc may hold segments its source does not.
     */
    private void verify(ReplicaCopies copies, Recovery recovery) {
        ReplicaSet set = rebuildingSet(recovery);
        int columns = sets.of(recovery.familyId()).size();
        for (Lc lc : recoveries.lcsOf(recovery.familyId())) {
            if (!lc.frozen()) {
                continue;
            }
            List<HeldSegment> source = unlessDeleted(lc, () -> held(copies, set, recovery, lc, columns));
            List<HeldSegment> copy = unlessDeleted(
                    lc,
                    () -> copies.heldSegments(
                            recovery.newNodeId(), lc.lcId(), lc.sizeBytes(), recovery.column(), columns));
            if (source == null || copy == null) {
                continue;
            }
            if (!source.equals(copy)) {
                throw new IllegalStateException("frozen lc " + lc.lcId() + " differs on node " + recovery.newNodeId()
                        + " from its in-sync copy after its fill (" + copy.size() + " segments held there, "
                        + source.size() + " on the source)");
            }
        }
    }

    private List<HeldSegment> held(ReplicaCopies copies, ReplicaSet set, Recovery recovery, Lc lc, int columns) {
        return fromAnySource(
                set,
                recovery,
                source -> copies.heldSegments(source, lc.lcId(), lc.sizeBytes(), recovery.column(), columns));
    }

    /**
     * What {@code call} answers; null when it failed because the lc was deleted meanwhile (the nodes
     * no longer have it either), which a recovery skips.
     */
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

    /** The bytes of data each PC holds, by PC; a PC with only zero segments counts 0 but is filled. */
    private static Map<Long, Long> bytesByPc(List<HeldSegment> held) {
        Map<Long, Long> byPc = new TreeMap<>();
        for (HeldSegment segment : held) {
            byPc.merge(segment.pc(), segment.zero() ? 0L : ChunkEngine.SEGMENT_SIZE, Long::sum);
        }
        return byPc;
    }

    private interface SourceCall<T> {
        T on(String sourceNodeId);
    }

    /** What the first in-sync member (in read order) to answer answers. */
    private static <T> T fromAnySource(ReplicaSet set, Recovery recovery, SourceCall<T> call) {
        SprigException.@Nullable NodeUnavailable last = null;
        for (String source : set.readOrder()) {
            try {
                return call.on(source);
            } catch (SprigException.NodeUnavailable unavailable) {
                if (unavailable.nodeId().equals(recovery.newNodeId())) {
                    throw unavailable;
                }
                last = unavailable;
            }
        }
        if (last != null) {
            throw last;
        }
        throw new IllegalStateException("column " + recovery.column() + " of family " + recovery.familyId()
                + " has no in-sync member to copy from");
    }

    private Recovery recovery(Operation operation) {
        return recoveries
                .find(operation.id())
                .orElseThrow(() -> new IllegalStateException("operation " + operation.id() + " has no recovery"));
    }

    /** The set as it is now, while the new member is still rebuilding in it. */
    private ReplicaSet rebuildingSet(Recovery recovery) {
        return sets.of(recovery.familyId()).stream()
                .filter(set -> set.column() == recovery.column() && set.hasRebuilding(recovery.newNodeId()))
                .findFirst()
                .orElseThrow(() -> new IllegalStateException("node " + recovery.newNodeId()
                        + " is no longer rebuilding in column " + recovery.column() + " of family "
                        + recovery.familyId()));
    }

    static List<LcSpec> specs(List<Lc> lcs) {
        return lcs.stream()
                .map(lc -> new LcSpec(lc.lcId(), lc.parentLcId(), lc.familyId(), lc.sizeBytes(), lc.frozen()))
                .toList();
    }

    @Override
    public Runnable succeed(Operation operation) {
        Recovery recovery = recovery(operation);
        if (!sets.finishRebuild(recovery.familyId(), recovery.column(), recovery.oldNodeId(), recovery.newNodeId())) {
            throw new IllegalStateException("node " + recovery.newNodeId() + " is no longer rebuilding in column "
                    + recovery.column() + " of family " + recovery.familyId());
        }
        log.info(
                "Recovery {}: node {} is in sync in column {} of family {}; node {} left the set",
                operation.id(),
                recovery.newNodeId(),
                recovery.column(),
                recovery.familyId(),
                recovery.oldNodeId());
        return () -> {};
    }

    @Override
    public void fail(Operation operation, String error) {
        recoveries
                .find(operation.id())
                .ifPresent(
                        recovery -> sets.abandonRebuild(recovery.familyId(), recovery.column(), recovery.newNodeId()));
    }
}
