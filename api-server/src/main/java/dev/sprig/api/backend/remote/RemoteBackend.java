package dev.sprig.api.backend.remote;

import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.backend.remote.NodeClient.Target;
import dev.sprig.api.error.SprigException;
import dev.sprig.api.node.Node;
import dev.sprig.api.node.NodeRegistry;
import dev.sprig.api.placement.ReplicaSet;
import dev.sprig.api.placement.ReplicaSets;
import dev.sprig.engine.ChunkEngine;
import dev.sprig.nodeapi.Job;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.LongStream;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link StorageBackend} on the storage nodes of the registry, over each family's replica sets
 * (decision 011). PC {@code i} of every lc of a family lives in column {@code i % columns}, on every
 * member of that column's set, so a clone's redirect of a PC copies from its parent's copy on the
 * same node. Every lc of a family is defined on every node of the family (they are small); control
 * calls (define, freeze, flush, flatten) and writes go to each member that is {@code in_sync}, reads
 * to one of them.
 *
 * <p>Calls go through {@link NodeCalls}. A member that does not answer is dropped from the family's
 * sets (marked {@code stale}, epochs bumped) in the caller's transaction and the request goes on on
 * the others, while every column keeps {@code min-in-sync} in-sync members; below that the request
 * fails with {@code 503 INSUFFICIENT_REPLICAS} and its transaction, drops included, rolls back. A node
 * that refuses a call (a 4xx) is not dropped: the call was wrong, not the node. The sets are read
 * from the database on every call (one query): another api-server instance may drop a member at any
 * time.
 */
final class RemoteBackend implements StorageBackend {

    private static final Logger log = LoggerFactory.getLogger(RemoteBackend.class);

    private final NodeRegistry registry;
    private final ReplicaSets sets;
    private final NodeClient client;
    private final NodeCalls calls;
    private final FamilyLookup families;
    private final Fences fences;

    RemoteBackend(
            NodeRegistry registry,
            ReplicaSets sets,
            NodeClient client,
            NodeCalls calls,
            FamilyLookup families,
            Fences fences) {
        this.registry = registry;
        this.sets = sets;
        this.client = client;
        this.calls = calls;
        this.families = families;
        this.fences = fences;
    }

    @Override
    public void define(List<LcSpec> lcs) {
        Map<Long, List<LcSpec>> byFamily = new LinkedHashMap<>();
        for (LcSpec lc : lcs) {
            byFamily.computeIfAbsent(lc.familyId(), family -> new ArrayList<>()).add(lc);
            families.remember(lc.lcId(), lc.familyId());
        }
        byFamily.forEach((family, batch) -> {
            onEveryMember(family, node -> client.define(node, batch));
            setRebuildSources(family, batch);
        });
    }

    /**
     * On each rebuilding member of the family, makes a new lc's copy on an in-sync member its rebuild
     * source (decision 012), before the member can get writes for it: the lc's parent there may not
     * be filled yet, so a partial write must fill its segment from the source first.
     */
    private void setRebuildSources(long familyId, List<LcSpec> lcs) {
        List<ReplicaSet> placed = sets.placed(familyId);
        Set<String> rebuilding = new LinkedHashSet<>();
        placed.forEach(column -> column.rebuilding().forEach(member -> rebuilding.add(member.nodeId())));
        for (String nodeId : rebuilding) {
            ReplicaSets.RebuildSources sources = ReplicaSets.rebuildSources(placed, nodeId, -1);
            if (sources.nodeIds().isEmpty()) {
                log.warn(
                        "No node is in sync in every column of family {} where node {} is rebuilding: its new lcs"
                                + " have no rebuild source",
                        familyId,
                        nodeId);
                continue;
            }
            Target node = target(nodeId);
            List<Target> from = sources.nodeIds().stream().map(id -> target(id)).toList();
            try {
                for (LcSpec lc : lcs) {
                    calls.run(
                            nodeId,
                            () -> client.setRebuildSources(node, lc.lcId(), from, sources.columns(), placed.size()));
                }
            } catch (SprigException.NodeUnavailable unavailable) {
                sets.markStale(familyId, unavailable);
            }
        }
    }

    @Override
    public void freeze(long lcId) {
        onEveryMember(families.of(lcId), node -> client.freeze(node, lcId));
    }

    /**
     * Grows on every member of every column, all in sync: a member that missed the grow (stale,
     * or rebuilding from a copy of the old size) would hold a smaller lc than its set, so a family
     * with one is refused until recovery has brought it back, and a member that cannot be reached
     * fails the call (503) instead of being dropped. The members grown before it keep the new size,
     * which a retry (or the next resize) gives the others.
     */
    @Override
    public void grow(long lcId, long sizeBytes) {
        long family = families.of(lcId);
        List<ReplicaSet> placed = sets.placed(family);
        for (ReplicaSet column : placed) {
            for (ReplicaSet.Member member : column.members()) {
                if (!member.inSync()) {
                    throw SprigException.invalidState("the disk's copies are not all in sync (node "
                            + member.nodeId() + " is " + member.state().column()
                            + " in column " + column.column() + "); resize it once recovery has finished");
                }
            }
        }
        for (String nodeId : inSyncNodes(placed)) { // every member, all in sync now
            Target node = target(nodeId);
            calls.run(nodeId, () -> client.grow(node, lcId, sizeBytes));
        }
    }

    @Override
    public void flush(long lcId) {
        onEveryMember(families.of(lcId), node -> client.flush(node, lcId));
    }

    /**
     * Deletes on every member of the family's sets, stale ones too, when the family is known, else on
     * every registered node. Never fails the caller, whose metadata is already gone: a node that does
     * not answer keeps the lc until the reconciler collects it.
     */
    @Override
    public void delete(long lcId) {
        List<String> targets = families.known(lcId)
                .map(sets::of)
                .filter(placed -> !placed.isEmpty())
                .map(RemoteBackend::allMembers)
                .orElseGet(() -> registry.all().stream().map(Node::nodeId).toList());
        for (String nodeId : targets) {
            try {
                Target node = target(nodeId);
                calls.run(nodeId, () -> client.delete(node, lcId));
            } catch (SprigException.NodeUnavailable | NodeClient.Refused failed) {
                log.warn("lc {} stays on node {} for the reconciler: {}", lcId, nodeId, failed.getMessage());
            }
        }
        families.forget(lcId);
    }

    /** Each piece (at most a PC) goes to every in-sync or rebuilding member of its PC's column. */
    @Override
    public void write(long lcId, long offset, ByteBuffer bytes) {
        long family = families.of(lcId);
        List<ReplicaSet> columns = sets.placed(family);
        ByteBuffer rest = bytes.duplicate();
        long at = offset;
        while (rest.hasRemaining()) {
            long pc = at / ChunkEngine.PC_SIZE;
            int inPc = (int) Math.min(rest.remaining(), (pc + 1) * ChunkEngine.PC_SIZE - at);
            ByteBuffer piece = rest.slice(rest.position(), inPc);
            long pieceAt = at;
            for (String nodeId : columnOf(columns, pc).writerNodeIds()) {
                Target node = target(nodeId);
                try {
                    calls.run(nodeId, () -> client.write(node, lcId, pieceAt, piece));
                } catch (SprigException.NodeUnavailable unavailable) {
                    columns = sets.markStale(family, unavailable);
                }
            }
            rest.position(rest.position() + inPc);
            at += inPc;
        }
    }

    /** Each piece from one in-sync member of its column, the next one when it does not answer. */
    @Override
    public void read(long lcId, long offset, ByteBuffer into) {
        List<ReplicaSet> columns = sets.placed(families.of(lcId));
        long at = offset;
        while (into.hasRemaining()) {
            long pc = at / ChunkEngine.PC_SIZE;
            int inPc = (int) Math.min(into.remaining(), (pc + 1) * ChunkEngine.PC_SIZE - at);
            long pieceAt = at;
            byte[] piece = fromAnyMember(
                    columnOf(columns, pc),
                    node -> calls.call(node.nodeId(), () -> client.read(node, lcId, pieceAt, inPc)));
            into.put(piece);
            at += inPc;
        }
    }

    /**
     * Each in-sync member of the target column copies the piece from an in-sync member of the source
     * column (another one when its source did not answer it, a 502); a target member that does not
     * answer is dropped like any other.
     */
    @Override
    public long copyRange(long fromLcId, long toLcId, long offset, long length) {
        List<ReplicaSet> from = sets.placed(families.of(fromLcId));
        long toFamily = families.of(toLcId);
        List<ReplicaSet> to = sets.placed(toFamily);
        long stored = 0;
        for (long at = offset; at < offset + length; ) {
            long pc = at / ChunkEngine.PC_SIZE;
            long inPc = Math.min(offset + length - at, (pc + 1) * ChunkEngine.PC_SIZE - at);
            ReplicaSet source = columnOf(from, pc);
            Long piece = null;
            for (String nodeId : columnOf(to, pc).inSyncNodeIds()) {
                Target node = target(nodeId);
                try {
                    long copied = copyFromAnySource(node, toLcId, source, fromLcId, at, inPc);
                    piece = piece == null ? copied : piece;
                } catch (SprigException.NodeUnavailable unavailable) {
                    to = sets.markStale(toFamily, unavailable);
                }
            }
            stored += piece == null ? 0 : piece;
            at += inPc;
        }
        return stored;
    }

    private long copyFromAnySource(Target node, long toLcId, ReplicaSet source, long fromLcId, long at, long length) {
        NodeClient.Refused unanswered = null;
        for (String sourceId : source.readOrder()) {
            Target from = target(sourceId);
            try {
                return calls.call(node.nodeId(), () -> client.copyFrom(node, toLcId, from, fromLcId, at, length));
            } catch (NodeClient.Refused refused) {
                if (refused.status != 502) {
                    throw refused;
                }
                // the source did not answer the target: another member of the source column may
                unanswered = refused;
            }
        }
        if (unanswered != null) {
            throw unanswered;
        }
        throw noneInSync(source);
    }

    /**
     * One in-sync member of each column answers for the PCs it holds (the next one when it does not
     * answer); a column none of whose members answers fails the call, rather than make the lc look
     * emptier than it is.
     */
    @Override
    public List<PcRun> pcsWithData(long lcId) {
        List<ReplicaSet> columns = sets.placed(families.of(lcId));
        Map<String, List<PcRun>> answers = new HashMap<>();
        for (ReplicaSet column : columns) {
            if (column.inSyncNodeIds().stream().anyMatch(answers::containsKey)) {
                continue;
            }
            Map.Entry<String, List<PcRun>> answer = fromAnyMember(
                    column,
                    node -> Map.entry(node.nodeId(), calls.call(node.nodeId(), () -> client.allocation(node, lcId))));
            answers.put(answer.getKey(), answer.getValue());
        }
        LongStream.Builder pcs = LongStream.builder();
        for (List<PcRun> runs : answers.values()) {
            for (PcRun run : runs) {
                for (long pc = run.firstPc(); pc < run.firstPc() + run.pcCount(); pc++) {
                    pcs.add(pc);
                }
            }
        }
        return PcRun.of(pcs.build().sorted().distinct().toArray());
    }

    @Override
    public boolean canPlaceApart(List<Long> lcIds) {
        return sets.canPlaceApart(lcIds.stream().map(families::of).toList());
    }

    @Override
    public boolean placeApart(long lcId, List<Long> apartFrom) {
        return sets.placeApart(lcId, apartFrom.stream().map(families::of).toList())
                .isPresent();
    }

    /**
     * Starts the flatten on every in-sync node of the family, then follows them until all are done;
     * a node that stops answering meanwhile is dropped and no longer waited for.
     */
    @Override
    public void flatten(long lcId, FlattenProgress progress) {
        long family = families.of(lcId);
        // not on a rebuilding member: its lc's parent may not be filled yet, and a flatten there would
        // copy unfilled bytes into segments the recovery's fill then keeps
        onEveryInSyncMember(family, node -> client.startFlatten(node, lcId));
        while (true) {
            long done = 0;
            long total = 0;
            boolean running = false;
            for (String nodeId : inSyncNodes(sets.placed(family))) {
                Target node = target(nodeId);
                Job job;
                try {
                    job = calls.call(nodeId, () -> client.flattenJob(node, lcId));
                } catch (SprigException.NodeUnavailable unavailable) {
                    sets.markStale(family, unavailable);
                    continue;
                }
                if (job.state() == Job.State.FAILED) {
                    throw new IllegalStateException(
                            "flatten of lc " + lcId + " failed on node " + nodeId + ": " + job.error());
                }
                running |= job.state() == Job.State.RUNNING;
                done += job.done();
                total += job.total();
            }
            try {
                progress.pcsDone(done, total);
            } catch (RuntimeException stopped) {
                // the operation was cancelled: the nodes stop too, rather than finish unobserved
                cancelFlatten(inSyncNodes(sets.placed(family)), lcId);
                throw stopped;
            }
            if (!running) {
                return;
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("flatten of lc " + lcId + " interrupted", interrupted);
            }
        }
    }

    private void cancelFlatten(List<String> nodeIds, long lcId) {
        for (String nodeId : nodeIds) {
            try {
                Target node = target(nodeId);
                calls.run(nodeId, () -> client.cancelFlatten(node, lcId));
            } catch (RuntimeException unreachable) {
                // its flatten then finishes on its own: the lc reads the same either way
                log.warn("Could not stop the flatten of lc {} on node {}: {}", lcId, nodeId, unreachable.getMessage());
            }
        }
    }

    /**
     * Every lc the nodes hold, by node; fails when a node does not answer, rather than look short.
     * Nodes that are down (no heartbeat for {@code sprig.api.nodes.down-after}) are left out. The
     * in-sync members are read after the nodes' lists: a member only ever leaves the in-sync state,
     * so one in sync now was in sync when every lc the database listed before was defined.
     */
    @Override
    public Inventory inventory() {
        Set<HeldLc> held = new LinkedHashSet<>();
        Map<String, Set<Long>> heldBy = new HashMap<>();
        for (Node node : registry.all()) {
            if (registry.stateOf(node) == Node.State.DOWN) {
                continue;
            }
            Target target = target(node);
            List<HeldLc> list = calls.call(node.nodeId(), () -> client.list(target));
            held.addAll(list);
            Set<Long> ids = new HashSet<>();
            list.forEach(lc -> ids.add(lc.lcId()));
            heldBy.put(node.nodeId(), ids);
        }
        // members read after the lists: a node that held an lc and is no member now is a stray's holder
        return new Inventory(List.copyOf(held), heldBy, sets.inSyncNodesByFamily(), sets.settledMembersByFamily());
    }

    @Override
    public boolean deleteStrayCopy(String holder, long lcId, long familyId) {
        if (sets.membershipsOf(holder).stream().anyMatch(fence -> fence.familyId() == familyId)) {
            return false;
        }
        Target node = target(holder);
        calls.run(holder, () -> client.delete(node, lcId));
        return true;
    }

    @Override
    public void pushFences() {
        fences.pushAll();
    }

    /**
     * The flat list a plain NBD client reads by: PC {@code i} on {@code nodes[i % n]}, the preferred
     * in-sync member of each column.
     */
    @Override
    public List<NodeAccess> placementOf(long lcId) {
        List<NodeAccess> access = new ArrayList<>();
        for (ReplicaSet column : sets.placed(families.of(lcId))) {
            List<String> order = column.readOrder();
            if (order.isEmpty()) {
                throw noneInSync(column);
            }
            Node node = registry.node(order.get(0));
            access.add(
                    new NodeAccess(node.nodeId(), node.httpEndpoint(), node.nbdHost(), node.nbdPort(), node.token()));
        }
        return access;
    }

    /**
     * Runs {@code call} on every node that is in sync or rebuilding in at least one column of the
     * family (decision 012: a rebuilding member gets the control calls, so that lcs made during its
     * rebuild exist on it), dropping those that do not answer (or failing the request when too few
     * in-sync members would be left; a rebuilding member's drop never fails it).
     */
    private void onEveryMember(long familyId, Consumer<Target> call) {
        List<ReplicaSet> placed = sets.placed(familyId);
        Set<String> nodes = new LinkedHashSet<>();
        placed.forEach(column -> nodes.addAll(column.writerNodeIds()));
        onEach(familyId, List.copyOf(nodes), call);
    }

    /** {@link #onEveryMember} on the in-sync members alone. */
    private void onEveryInSyncMember(long familyId, Consumer<Target> call) {
        onEach(familyId, inSyncNodes(sets.placed(familyId)), call);
    }

    private void onEach(long familyId, List<String> nodeIds, Consumer<Target> call) {
        for (String nodeId : nodeIds) {
            Target node = target(nodeId);
            try {
                calls.run(nodeId, () -> call.accept(node));
            } catch (SprigException.NodeUnavailable unavailable) {
                sets.markStale(familyId, unavailable);
            }
        }
    }

    /** What the first in-sync member of the column (in read order) to answer answers. */
    private <T> T fromAnyMember(ReplicaSet column, java.util.function.Function<Target, T> call) {
        SprigException.@Nullable NodeUnavailable last = null;
        for (String nodeId : column.readOrder()) {
            try {
                return call.apply(target(nodeId));
            } catch (SprigException.NodeUnavailable unavailable) {
                last = unavailable;
            }
        }
        if (last != null) {
            throw last;
        }
        throw noneInSync(column);
    }

    private SprigException noneInSync(ReplicaSet column) {
        return SprigException.invalidState(
                "column " + column.column() + " of family " + column.familyId() + " has no in-sync member");
    }

    /** The nodes in sync in at least one column, in column and position order. */
    private static List<String> inSyncNodes(List<ReplicaSet> columns) {
        Set<String> nodes = new LinkedHashSet<>();
        columns.forEach(column -> nodes.addAll(column.inSyncNodeIds()));
        return List.copyOf(nodes);
    }

    private static List<String> allMembers(List<ReplicaSet> columns) {
        Set<String> nodes = new LinkedHashSet<>();
        columns.forEach(column -> column.members().forEach(member -> nodes.add(member.nodeId())));
        return List.copyOf(nodes);
    }

    private static ReplicaSet columnOf(List<ReplicaSet> columns, long pc) {
        return columns.get((int) (pc % columns.size()));
    }

    private Target target(String nodeId) {
        return target(registry.node(nodeId));
    }

    static Target target(Node node) {
        return new Target(node.nodeId(), node.httpEndpoint(), node.token());
    }

    /** The family's columns, placing it first when it has none (as {@link #placementOf} does). */
    @Override
    public List<ReplicaColumn> replicasOf(long lcId) {
        return replicaColumns(sets.placed(families.of(lcId)));
    }

    /** Three queries at most (families, sets, and the registry's snapshot) for any number of lcs. */
    @Override
    public Map<Long, List<ReplicaColumn>> replicasOf(java.util.Collection<Long> lcIds) {
        Map<Long, Long> familyOf = families.of(lcIds);
        Map<Long, List<ReplicaSet>> setsByFamily = new HashMap<>();
        for (ReplicaSet set : sets.of(new HashSet<>(familyOf.values()))) {
            setsByFamily
                    .computeIfAbsent(set.familyId(), family -> new ArrayList<>())
                    .add(set);
        }
        Map<Long, List<ReplicaColumn>> columnsByFamily = new HashMap<>();
        Map<Long, List<ReplicaColumn>> byLc = new HashMap<>();
        familyOf.forEach((lcId, family) -> {
            List<ReplicaSet> placed = setsByFamily.get(family);
            if (placed != null) {
                byLc.put(lcId, columnsByFamily.computeIfAbsent(family, unused -> replicaColumns(placed)));
            }
        });
        return byLc;
    }

    /**
     * Drops the member, then makes sure every remaining in-sync member of the column holds the
     * column's fence before answering: {@link Fences} raised them once the drop committed, but best
     * effort, and the client acknowledges its write on this answer. So each is raised again here
     * (raising a fence twice is harmless), and a member that does not take it is itself failing and
     * dropped in turn, until every in-sync member is fenced, or too few would be left ({@code 503
     * INSUFFICIENT_REPLICAS}; the drops before stay). A report from an older epoch re-checks the
     * fences of the current one just the same: a drop made by a control call may have missed one.
     */
    @Override
    public List<ReplicaColumn> dropMember(long lcId, int column, String nodeId, long epoch) {
        long family = families.of(lcId);
        ReplicaSet set = sets.drop(family, column, nodeId, epoch);
        for (java.util.Optional<String> unfenced = unfenced(set); unfenced.isPresent(); unfenced = unfenced(set)) {
            set = sets.drop(family, column, unfenced.get(), set.epoch());
        }
        return replicaColumns(sets.of(family));
    }

    /**
     * Raises the set's fence on each of its in-sync members; the first that does not take it, if
     * any. None at epoch 1: no token is older.
     */
    private java.util.Optional<String> unfenced(ReplicaSet set) {
        if (set.epoch() <= 1) {
            return java.util.Optional.empty();
        }
        @Nullable String failing = null;
        for (String nodeId : set.inSyncNodeIds()) {
            String why;
            try {
                Target node = target(nodeId);
                long held = calls.call(nodeId, () -> client.fence(node, set.familyId(), set.column(), set.epoch()));
                if (held >= set.epoch()) {
                    continue;
                }
                why = "it holds epoch " + held;
            } catch (RuntimeException failed) {
                why = failed.getMessage();
            }
            log.warn(
                    "Node {} did not take the fence of column {} of family {} at epoch {}: {}",
                    nodeId,
                    set.column(),
                    set.familyId(),
                    set.epoch(),
                    why);
            failing = failing == null ? nodeId : failing;
        }
        return java.util.Optional.ofNullable(failing);
    }

    private List<ReplicaColumn> replicaColumns(List<ReplicaSet> placed) {
        List<ReplicaColumn> columns = new ArrayList<>(placed.size());
        for (ReplicaSet set : placed) {
            List<ReplicaMember> members = set.members().stream()
                    .map(member -> new ReplicaMember(access(registry.node(member.nodeId())), memberState(member)))
                    .toList();
            List<String> order = set.readOrder();
            columns.add(new ReplicaColumn(
                    set.familyId(),
                    set.column(),
                    placed.size(),
                    set.epoch(),
                    members,
                    order.isEmpty() ? null : order.get(0)));
        }
        return columns;
    }

    private static MemberState memberState(ReplicaSet.Member member) {
        return switch (member.state()) {
            case IN_SYNC -> MemberState.IN_SYNC;
            case REBUILDING -> MemberState.REBUILDING;
            case STALE -> MemberState.STALE;
        };
    }

    private static NodeAccess access(Node node) {
        return new NodeAccess(node.nodeId(), node.httpEndpoint(), node.nbdHost(), node.nbdPort(), node.token());
    }
}
