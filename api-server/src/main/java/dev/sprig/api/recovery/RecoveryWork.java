package dev.sprig.api.recovery;

import dev.sprig.api.SprigApiProperties;
import dev.sprig.api.backend.ReplicaCopies;
import dev.sprig.api.backend.ReplicaCopies.HeldSegment;
import dev.sprig.api.backend.StorageBackend.LcSpec;
import dev.sprig.api.error.SprigException;
import dev.sprig.api.lineage.Lc;
import dev.sprig.api.node.Node;
import dev.sprig.api.node.NodeRegistry;
import dev.sprig.api.operation.Operation;
import dev.sprig.api.operation.OperationProgress;
import dev.sprig.api.operation.OperationWork;
import dev.sprig.api.placement.ReplicaSet;
import dev.sprig.api.placement.ReplicaSets;
import dev.sprig.engine.ChunkEngine;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
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
class RecoveryWork implements OperationWork, DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(RecoveryWork.class);

    private final RecoveryRepository recoveries;
    private final ReplicaSets sets;
    private final ObjectProvider<ReplicaCopies> copiesProvider;
    private final NodeRegistry registry;
    private final CopyPermits permits;
    private final long bytesPerSecond;
    private final CatchUpWork catchUps;
    /** Column PCs per node call: 32 MiB, a few hundred ms at the rates a node copies at. */
    static final int BATCH_PCS = 8;

    /** Batches one recovery has in flight at once: as many as a node takes part in. */
    private final int window;
    /** The copies' threads: a copy waits on node calls, so each in-flight PC has one. */
    private final ExecutorService copiers = Executors.newCachedThreadPool(work -> {
        Thread thread = new Thread(work, "recovery-copy");
        thread.setDaemon(true);
        return thread;
    });

    RecoveryWork(
            RecoveryRepository recoveries,
            ReplicaSets sets,
            NodeRegistry registry,
            ObjectProvider<ReplicaCopies> copies,
            SprigApiProperties properties) {
        this.recoveries = recoveries;
        this.sets = sets;
        this.registry = registry;
        this.copiesProvider = copies;
        this.permits = new CopyPermits(properties.recovery().concurrentCopies());
        this.bytesPerSecond = properties.recovery().bytesPerSecondPerCopy();
        this.catchUps = new CatchUpWork(recoveries, sets, permits, bytesPerSecond);
        this.window = properties.recovery().concurrentCopies();
    }

    @Override
    public void destroy() {
        copiers.shutdownNow();
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
        if (recovery.catchUp() || joinedWithOldCopies(copies, recovery)) {
            catchUps.perform(copies, recovery, progress);
            removeRebuildSources(recovery, true);
            return;
        }
        Set<Long> filled = new HashSet<>(recovery.filledLcIds());
        long started = System.nanoTime();
        long planning = 0;
        long copied = 0;
        while (true) {
            long planStarted = System.nanoTime();
            ReplicaSet set = rebuildingSet(recovery);
            int columns = sets.of(recovery.familyId()).size();
            List<Lc> lcs = recoveries.lcsOf(recovery.familyId());
            List<Long> defined = copies.define(recovery.newNodeId(), specs(lcs));
            checkRebuildSources(copies, recovery, lcs, defined);
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
            planning += System.nanoTime() - planStarted;
            if (plan.isEmpty()) {
                progress.report(done, total);
                copied = total;
                break;
            }
            progress.report(done, total);
            for (Map.Entry<Lc, Map<Long, Long>> lc : plan.entrySet()) {
                // the new member may have been dropped meanwhile (an agent's write to it failed)
                ReplicaSet now = rebuildingSet(recovery);
                done = fill(
                        copies,
                        now,
                        recovery,
                        lc.getKey(),
                        batches(lc.getValue(), columns),
                        columns,
                        done,
                        total,
                        progress);
                recoveries.filled(operation.id(), lc.getKey().lcId());
                filled.add(lc.getKey().lcId());
            }
        }
        long verifyStarted = System.nanoTime();
        verify(copies, recovery);
        removeRebuildSources(recovery, false);
        long ended = System.nanoTime();
        // where a rebuild's time went: the node-to-node copy, or api-server's listings around it
        log.info(
                "Recovery {}: filled node {} in column {} of family {}: {} MiB in {} s ({} MiB/s); listing"
                        + " {} s, verifying {} s",
                recovery.operationId(),
                recovery.newNodeId(),
                recovery.column(),
                recovery.familyId(),
                copied >> 20,
                seconds(ended - started),
                (long) ((copied >> 20) / Math.max(1e-9, (ended - started) / 1e9)),
                seconds(planning),
                seconds(ended - verifyStarted));
    }

    private static String seconds(long nanos) {
        return String.format(Locale.ROOT, "%.2f", nanos / 1e9);
    }

    /**
     * Whether the new member joined holding old copies of the column (see {@link Recoveries}), its
     * lcs' sources set in catch-up mode: then it is caught up rather than filled, which would keep
     * them. The family's root lc tells, since all its lcs were set alike.
     */
    private boolean joinedWithOldCopies(ReplicaCopies copies, Recovery recovery) {
        List<Lc> lcs = recoveries.lcsOf(recovery.familyId());
        return !lcs.isEmpty()
                && unlessDeleted(
                                lcs.get(0),
                                () -> copies.rebuildState(
                                        recovery.newNodeId(), lcs.get(0).lcId()))
                        == ReplicaCopies.RebuildState.CATCH_UP;
    }

    /**
     * PCs of a column (in order) that one node call fills: {@code pcCount} of them from
     * {@code firstPc}, the column count apart, holding {@code bytes} of data at the source.
     */
    record Batch(long firstPc, int pcCount, long bytes) {}

    /**
     * The column's PCs the source holds anything in ({@code bytesByPc}, in PC order), in batches of
     * at most {@link #BATCH_PCS} column PCs, gaps included (the node finds nothing to copy there).
     */
    static List<Batch> batches(Map<Long, Long> bytesByPc, int columns) {
        List<Batch> batches = new ArrayList<>();
        long first = -1;
        long last = -1;
        long bytes = 0;
        for (Map.Entry<Long, Long> pc : bytesByPc.entrySet()) {
            if (first >= 0 && (pc.getKey() - first) / columns < BATCH_PCS) {
                last = pc.getKey();
                bytes += pc.getValue();
                continue;
            }
            if (first >= 0) {
                batches.add(new Batch(first, (int) ((last - first) / columns + 1), bytes));
            }
            first = pc.getKey();
            last = first;
            bytes = pc.getValue();
        }
        if (first >= 0) {
            batches.add(new Batch(first, (int) ((last - first) / columns + 1), bytes));
        }
        return batches;
    }

    /**
     * Fills the lc's PCs in the column from an in-sync member; {@code done} plus what it covered.
     * A node call fills a {@link Batch} of PCs (its node fetches each PC in one request, the next
     * while it fills the one before), and up to {@link #window} batches are in flight at once, each
     * holding its nodes' {@link CopyPermits}. A call per PC, one at a time, spent most of a rebuild
     * on api-server's own calls and on waits where neither node worked. The lc is done when all its
     * batches are, so a child's fill still starts after its parent's ends.
     */
    private long fill(
            ReplicaCopies copies,
            ReplicaSet set,
            Recovery recovery,
            Lc lc,
            List<Batch> batches,
            int columns,
            long done,
            long total,
            OperationProgress progress) {
        Deque<Future<Long>> inFlight = new ArrayDeque<>();
        @Nullable RuntimeException failed = null;
        for (Batch batch : batches) {
            if (inFlight.size() >= window) {
                try {
                    done += await(inFlight.poll());
                    progress.report(done, total);
                } catch (RuntimeException e) {
                    failed = e;
                    break;
                }
            }
            inFlight.add(copiers.submit(() -> {
                fromAnySource(
                        permits.leastClaimedFirst(set.readOrder()),
                        recovery,
                        source -> permits.run(
                                recovery.newNodeId(),
                                source,
                                () -> copies.fill(
                                        recovery.newNodeId(),
                                        source,
                                        lc.lcId(),
                                        batch.firstPc(),
                                        batch.pcCount(),
                                        columns,
                                        bytesPerSecond)));
                return batch.bytes();
            }));
        }
        // every copy started ends before this returns or throws: none outlives its recovery's run
        while (!inFlight.isEmpty()) {
            try {
                done += await(inFlight.poll());
                if (failed == null) {
                    progress.report(done, total);
                }
            } catch (RuntimeException e) {
                failed = failed == null ? e : failed;
            }
        }
        if (failed != null) {
            if (!recoveries.lcExists(lc.lcId())) {
                log.debug("lc {} was deleted during recovery {}", lc.lcId(), recovery.operationId());
                return done;
            }
            throw failed;
        }
        return done;
    }

    private static long await(Future<Long> copy) {
        try {
            return copy.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException failure) {
                throw failure;
            }
            if (e.getCause() instanceof Error error) {
                throw error;
            }
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            copy.cancel(true);
            throw new IllegalStateException("the recovery was interrupted", e);
        }
    }

    /**
     * Each lc on the new member has its rebuild sources: set when the recovery started, or by the
     * control path for an lc made since. One without (but one {@code defined} just now, which gets
     * them here) means the node restarted (a node keeps them in memory only) and may have merged
     * partial live writes with segments not filled yet: its copy cannot be trusted, and the recovery
     * fails. Each lc's sources are set again, as the sets are now: a source that failed (the agent
     * dropped it) is no longer first in line, nor tried at all. Nothing to check when no node is in
     * sync in every column where the new member rebuilds.
     */
    private void checkRebuildSources(ReplicaCopies copies, Recovery recovery, List<Lc> lcs, List<Long> defined) {
        List<ReplicaSet> family = sets.of(recovery.familyId());
        ReplicaSets.RebuildSources sources = ReplicaSets.rebuildSources(family, recovery.newNodeId(), -1);
        if (sources.nodeIds().isEmpty()) {
            log.warn(
                    "Recovery {}: no node is in sync in every column where node {} rebuilds; its lcs keep the"
                            + " rebuild sources they have",
                    recovery.operationId(),
                    recovery.newNodeId());
            return;
        }
        for (Lc lc : lcs) {
            if (!defined.contains(lc.lcId())
                    && Boolean.FALSE.equals(
                            unlessDeleted(lc, () -> copies.hasRebuildSource(recovery.newNodeId(), lc.lcId())))) {
                throw new IllegalStateException("node " + recovery.newNodeId() + " lost the rebuild source of lc "
                        + lc.lcId() + ": it restarted while rebuilding, and its copy cannot be trusted");
            }
            unlessDeleted(lc, () -> {
                copies.setRebuildSources(
                        recovery.newNodeId(), sources.nodeIds(), lc.lcId(), sources.columns(), family.size());
                return Boolean.TRUE;
            });
        }
    }

    /**
     * Before the new member may become in sync: each of its lcs still has its rebuild source (one
     * that lost them restarted, and may have merged partial live writes with unfilled segments
     * meanwhile), and each frozen lc reads, segment by segment, as on an in-sync member. Segments
     * whose inventory entries (state and block CRCs) agree are equal; where they differ (a
     * rebuilding lc may hold segments its source reads through its parent: filled on a live write
     * from resolved bytes, or marked zero) the two are read and compared. Writable lcs are not
     * compared: live writes reach the members at slightly different times.
     */
    private void verify(ReplicaCopies copies, Recovery recovery) {
        ReplicaSet set = rebuildingSet(recovery);
        int columns = sets.of(recovery.familyId()).size();
        List<Lc> lcs = recoveries.lcsOf(recovery.familyId());
        checkRebuildSources(copies, recovery, lcs, List.of());
        for (Lc lc : lcs) {
            if (!lc.frozen()) {
                continue;
            }
            unlessDeleted(
                    lc,
                    () -> fromAnySource(set, recovery, source -> {
                        compare(copies, source, recovery, lc, columns);
                        return Boolean.TRUE;
                    }));
        }
    }

    static void compare(ReplicaCopies copies, String source, Recovery recovery, Lc lc, int columns) {
        Map<List<Long>, HeldSegment> theirs =
                bySegment(copies.heldSegmentDigests(source, lc.lcId(), lc.sizeBytes(), recovery.column(), columns));
        Map<List<Long>, HeldSegment> ours = bySegment(
                copies.heldSegmentDigests(recovery.newNodeId(), lc.lcId(), lc.sizeBytes(), recovery.column(), columns));
        Set<List<Long>> keys = new TreeSet<>(
                Comparator.comparing((List<Long> key) -> key.get(0)).thenComparing(key -> key.get(1)));
        keys.addAll(theirs.keySet());
        keys.addAll(ours.keySet());
        for (List<Long> key : keys) {
            if (Objects.equals(theirs.get(key), ours.get(key))) {
                continue;
            }
            long offset = key.get(0) * ChunkEngine.PC_SIZE + key.get(1) * ChunkEngine.SEGMENT_SIZE;
            int length = (int) Math.min(ChunkEngine.SEGMENT_SIZE, lc.sizeBytes() - offset);
            if (!Arrays.equals(
                    copies.read(source, lc.lcId(), offset, length),
                    copies.read(recovery.newNodeId(), lc.lcId(), offset, length))) {
                throw new IllegalStateException("frozen lc " + lc.lcId() + " reads otherwise on node "
                        + recovery.newNodeId() + " than on node " + source + " after its fill: segment " + key.get(1)
                        + " of PC " + key.get(0));
            }
        }
    }

    private static Map<List<Long>, HeldSegment> bySegment(List<HeldSegment> held) {
        Map<List<Long>, HeldSegment> by = new HashMap<>();
        held.forEach(segment -> by.put(List.of(segment.pc(), (long) segment.segment()), segment));
        return by;
    }

    private List<HeldSegment> held(ReplicaCopies copies, ReplicaSet set, Recovery recovery, Lc lc, int columns) {
        return fromAnySource(
                set,
                recovery,
                source -> copies.heldSegmentStates(source, lc.lcId(), lc.sizeBytes(), recovery.column(), columns));
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
        return fromAnySource(set.readOrder(), recovery, call);
    }

    /** What the first of {@code sources} (in-sync members) to answer answers. */
    private static <T> T fromAnySource(List<String> sources, Recovery recovery, SourceCall<T> call) {
        SprigException.@Nullable NodeUnavailable last = null;
        for (String source : sources) {
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
        if (recovery.catchUp()) {
            if (!sets.finishCatchUp(recovery.familyId(), recovery.column(), recovery.newNodeId())) {
                throw new IllegalStateException("node " + recovery.newNodeId() + " is no longer rebuilding in column "
                        + recovery.column() + " of family " + recovery.familyId());
            }
            log.info(
                    "Recovery {}: node {} is caught up and in sync again in column {} of family {}",
                    operation.id(),
                    recovery.newNodeId(),
                    recovery.column(),
                    recovery.familyId());
            return () -> {};
        }
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
        return () -> emptyDrained(recovery);
    }

    /**
     * Best effort: once a draining node is a member of none of the family's sets (a node's lc holds
     * the PCs of all its columns, so not before its last one moved), its copies of the family's lcs
     * are deleted, children first, so that a drained node ends empty. One that does not answer keeps
     * them for the reconciler. Nothing for a node that is not draining: one that was down is not asked,
     * and one that is up may be about to join the family again as another set's new member.
     */
    private void emptyDrained(Recovery recovery) {
        ReplicaCopies copies = copiesProvider.getIfAvailable();
        String nodeId = recovery.oldNodeId();
        if (copies == null
                || registry.all().stream()
                        .noneMatch(
                                node -> node.nodeId().equals(nodeId) && registry.stateOf(node) == Node.State.DRAINING)
                || sets.membershipsOf(nodeId).stream().anyMatch(fence -> fence.familyId() == recovery.familyId())) {
            return;
        }
        List<Lc> lcs = new ArrayList<>(recoveries.lcsOf(recovery.familyId()));
        Collections.reverse(lcs);
        for (Lc lc : lcs) {
            try {
                copies.delete(nodeId, lc.lcId());
            } catch (RuntimeException failed) {
                log.warn(
                        "Recovery {}: drained node {} keeps lc {} of family {} for the reconciler: {}",
                        recovery.operationId(),
                        nodeId,
                        lc.lcId(),
                        recovery.familyId(),
                        failed.getMessage());
                return;
            }
        }
        log.info(
                "Recovery {}: drained node {} no longer holds family {} ({} lcs deleted)",
                recovery.operationId(),
                nodeId,
                recovery.familyId(),
                lcs.size());
    }

    /**
     * Best effort: a source left behind only makes a later partial write fetch what it holds. Done
     * at the end of the work, while the member is still rebuilding, not after the commit that makes
     * it in sync: a scan may start the next recovery onto the same node as soon as it is in sync,
     * setting that one's sources, which a removal after the commit would take away (a catch-up's is
     * removed only while it is still of this column, but a plain removal takes any). The member no
     * longer needs them: everything it lacked is filled and verified, so a partial write may merge
     * with its own chain. Not while the node also rebuilds in another column of the family (its lcs,
     * one per node for all columns, need their sources until the last ends).
     *
     * @param caughtUp the member was caught up (its sources are in catch-up mode, of this column)
     */
    private void removeRebuildSources(Recovery recovery, boolean caughtUp) {
        ReplicaCopies copies = copiesProvider.getIfAvailable();
        if (copies == null
                || sets.of(recovery.familyId()).stream()
                        .anyMatch(
                                set -> set.column() != recovery.column() && set.hasRebuilding(recovery.newNodeId()))) {
            return;
        }
        for (Lc lc : recoveries.lcsOf(recovery.familyId())) {
            try {
                if (caughtUp) {
                    copies.removeCatchUpSource(recovery.newNodeId(), lc.lcId(), recovery.column());
                } else {
                    copies.removeRebuildSource(recovery.newNodeId(), lc.lcId());
                }
            } catch (RuntimeException failed) {
                log.warn(
                        "Recovery {}: could not remove the rebuild source of lc {} on node {}: {}",
                        recovery.operationId(),
                        lc.lcId(),
                        recovery.newNodeId(),
                        failed.getMessage());
                return;
            }
        }
    }

    @Override
    public void fail(Operation operation, String error) {
        recoveries.find(operation.id()).ifPresent(recovery -> {
            if (recovery.catchUp()) {
                // back to stale (fenced, no writes): the catch-up state it keeps on its node is inert
                // there, and the next scan's catch-up sets it afresh. No node call in this transaction.
                sets.abandonRebuild(recovery.familyId(), recovery.column(), recovery.newNodeId());
                log.warn(
                        "Recovery {}: the catch-up of node {} in column {} of family {} failed, the member is stale"
                                + " again: {}",
                        operation.id(),
                        recovery.newNodeId(),
                        recovery.column(),
                        recovery.familyId(),
                        error);
                return;
            }
            // a drain's move: the member it was to replace is still in sync, and the new one leaves
            boolean move = sets.of(recovery.familyId()).stream()
                    .anyMatch(set -> set.column() == recovery.column() && set.hasInSync(recovery.oldNodeId()));
            if (move) {
                sets.abandonMove(recovery.familyId(), recovery.column(), recovery.newNodeId());
            } else {
                sets.abandonRebuild(recovery.familyId(), recovery.column(), recovery.newNodeId());
            }
        });
    }
}
