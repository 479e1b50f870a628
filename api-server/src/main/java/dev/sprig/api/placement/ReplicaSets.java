package dev.sprig.api.placement;

import dev.sprig.api.SprigApiProperties;
import dev.sprig.api.database.Transactions;
import dev.sprig.api.error.SprigException;
import dev.sprig.api.node.Node;
import dev.sprig.api.node.NodeRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.stereotype.Service;

/**
 * The replica sets of the nodes backend (decision 011): where a new family goes, and members dropped
 * when they do not answer. Every change runs in the caller's transaction when there is one (so that
 * a request that fails takes its drops back with it), else in one of its own; after a drop commits,
 * the remaining members' fences are raised ({@link EpochsRaised}). Sets are read from the database
 * each time, never kept: another api-server instance may drop a member at any moment.
 */
@Service
public class ReplicaSets {

    private final ReplicaSetRepository repository;
    private final NodeRegistry registry;
    private final Transactions tx;
    private final ApplicationEventPublisher events;
    private final int stripeWidth;
    private final int replicas;
    private final int minInSync;
    private final Duration retryAfter;

    ReplicaSets(
            ReplicaSetRepository repository,
            NodeRegistry registry,
            Transactions tx,
            ApplicationEventPublisher events,
            SprigApiProperties properties) {
        this.repository = repository;
        this.registry = registry;
        this.tx = tx;
        this.events = events;
        SprigApiProperties.NodesBackend nodes = properties.backend().nodes();
        this.stripeWidth = nodes.stripeWidth();
        this.replicas = nodes.replicas();
        this.minInSync = nodes.effectiveMinInSync();
        this.retryAfter = nodes.retryAfter();
    }

    /** How many in-sync members a column must keep ({@code min-in-sync}, at most {@code replicas}). */
    public int minInSync() {
        return minInSync;
    }

    /** The family's sets by column, as recorded now; empty when it has not been placed. */
    public List<ReplicaSet> of(long familyId) {
        return repository.of(familyId);
    }

    /**
     * The family's sets by column, placing it first when it has none: {@code min(stripe-width, up
     * nodes)} columns of {@code replicas} members each ({@link ColumnChoice}). Fewer up nodes than
     * {@code replicas}: {@code 503 INSUFFICIENT_NODES}, nothing recorded.
     */
    public List<ReplicaSet> placed(long familyId) {
        List<ReplicaSet> sets = repository.of(familyId);
        if (!sets.isEmpty()) {
            return sets;
        }
        List<String> up = registry.forNewFamilies().stream().map(Node::nodeId).toList();
        if (up.size() < replicas) {
            throw SprigException.insufficientNodes(up.size(), replicas, retryAfter);
        }
        return place(familyId, ColumnChoice.choose(up, stripeWidth, replicas));
    }

    /**
     * Whether a new family could be placed on nodes that are members (in any state) of none of
     * {@code familyIds}' sets: a second copy of an image, apart from the first.
     */
    public boolean canPlaceApart(Collection<Long> familyIds) {
        return apartFrom(familyIds).size() >= replicas;
    }

    /**
     * Places the new family {@code familyId} on nodes that are members of none of {@code apartFrom}'s
     * sets; empty, placing nothing, when there are too few such nodes.
     */
    public Optional<List<ReplicaSet>> placeApart(long familyId, Collection<Long> apartFrom) {
        List<String> apart = apartFrom(apartFrom);
        if (apart.size() < replicas) {
            return Optional.empty();
        }
        return Optional.of(place(familyId, ColumnChoice.choose(apart, stripeWidth, replicas)));
    }

    private List<String> apartFrom(Collection<Long> familyIds) {
        Set<String> taken = new HashSet<>();
        repository.of(familyIds).forEach(set -> set.members().forEach(member -> taken.add(member.nodeId())));
        return registry.forNewFamilies().stream()
                .map(Node::nodeId)
                .filter(node -> !taken.contains(node))
                .toList();
    }

    private List<ReplicaSet> place(long familyId, List<List<String>> members) {
        return Objects.requireNonNull(tx.execute(status -> {
            repository.placeIfAbsent(familyId, members);
            return repository.of(familyId);
        }));
    }

    /**
     * Drops {@code failure}'s node from every column of the family where it is in sync or rebuilding,
     * bumping each of those columns' epochs: the node did not answer a call the request needed. A
     * rebuilding member's drop never counts against {@code min-in-sync}. Returns the family's sets as
     * they are now.
     *
     * @throws SprigException.NodeUnavailable {@code failure} itself, changing nothing, when the node
     *     is the only member of one of those columns (a family placed with one copy has no other to
     *     go on with)
     * @throws SprigException.InsufficientReplicas changing nothing, when one of those columns would
     *     keep fewer than {@code min-in-sync} in-sync members
     */
    public List<ReplicaSet> markStale(long familyId, SprigException.NodeUnavailable failure) {
        String nodeId = failure.nodeId();
        return Objects.requireNonNull(tx.execute(status -> {
            repository.lock(familyId);
            List<ReplicaSet> sets = repository.of(familyId);
            List<Integer> columns = new ArrayList<>();
            for (ReplicaSet set : sets) {
                if (set.hasRebuilding(nodeId)) {
                    // a rebuilding member never counts towards min-in-sync: dropping it is always allowed
                    columns.add(set.column());
                    continue;
                }
                if (!set.hasInSync(nodeId)) {
                    continue;
                }
                if (set.members().size() == 1) {
                    throw failure;
                }
                int remaining = set.inSync().size() - 1;
                if (remaining < minInSync) {
                    throw SprigException.insufficientReplicas(
                            familyId, set.column(), remaining, minInSync, failure.getMessage(), retryAfter);
                }
                columns.add(set.column());
            }
            if (columns.isEmpty()) {
                return sets;
            }
            return dropped(familyId, nodeId, columns);
        }));
    }

    /**
     * A client-agent's report that {@code nodeId} failed a write to column {@code column} of the
     * family, made with the set as of {@code epoch}. A member that is stale already, or a report from
     * an older epoch (someone dropped a member since), changes nothing; a rebuilding member is dropped
     * whatever {@code min-in-sync} says. Returns the set as it is now.
     *
     * @throws SprigException.NotFound the family has no such column, or the node is not in it
     * @throws SprigException.InvalidArgument {@code epoch} is later than the set's
     * @throws SprigException.InsufficientReplicas changing nothing, when the column would keep fewer
     *     than {@code min-in-sync} in-sync members
     */
    public ReplicaSet drop(long familyId, int column, String nodeId, long epoch) {
        return Objects.requireNonNull(tx.execute(status -> {
            repository.lock(familyId);
            ReplicaSet set = column(repository.of(familyId), familyId, column);
            if (set.members().stream().noneMatch(member -> member.nodeId().equals(nodeId))) {
                throw SprigException.notFound("node " + nodeId + " in column " + column + " of family " + familyId);
            }
            if (epoch > set.epoch()) {
                throw SprigException.invalidArgument("epoch " + epoch + " is later than the set's, " + set.epoch());
            }
            if (epoch < set.epoch()) {
                return set;
            }
            if (set.hasRebuilding(nodeId)) {
                return column(dropped(familyId, nodeId, List.of(column)), familyId, column);
            }
            if (!set.hasInSync(nodeId)) {
                return set;
            }
            int remaining = set.inSync().size() - 1;
            if (remaining < minInSync) {
                throw SprigException.insufficientReplicas(
                        familyId, column, remaining, minInSync, "node " + nodeId + " was reported failing", retryAfter);
            }
            return column(dropped(familyId, nodeId, List.of(column)), familyId, column);
        }));
    }

    private List<ReplicaSet> dropped(long familyId, String nodeId, List<Integer> columns) {
        repository.markStale(familyId, nodeId, columns);
        List<ReplicaSet> now = repository.of(familyId);
        events.publishEvent(new EpochsRaised(
                now.stream().filter(set -> columns.contains(set.column())).toList()));
        return now;
    }

    private static ReplicaSet column(List<ReplicaSet> sets, long familyId, int column) {
        return sets.stream()
                .filter(set -> set.column() == column)
                .findFirst()
                .orElseThrow(() -> SprigException.notFound("column " + column + " of family " + familyId));
    }

    /**
     * Replaces {@code oldNodeId} in column {@code column} of the family by {@code newNodeId}, which
     * joins as {@code rebuilding} (decision 012); {@code oldNodeId}, whose node is down, is marked
     * stale if it was not already. The epoch goes up once. Runs in the caller's transaction, which
     * records the recovery with it. Empty, changing nothing, when the set no longer needs it: the old
     * member left it, a member is rebuilding there already, or {@code newNodeId} is a member.
     */
    public Optional<ReplicaSet> startRebuild(long familyId, int column, String oldNodeId, String newNodeId) {
        return join(familyId, column, oldNodeId, newNodeId, false);
    }

    /**
     * A drain's move (decision 012): {@code newNodeId} joins column {@code column} of the family as
     * {@code rebuilding} to take the place of {@code oldNodeId}, whose node is draining but up. Unlike
     * {@link #startRebuild}, the old member stays {@code in_sync} (it keeps serving reads and taking
     * writes), so that the column never has fewer in-sync copies than before; {@link #finishRebuild}
     * removes it once the new one is in sync. Empty, changing nothing, when the old member is not in
     * sync there any more, a member is rebuilding there already, or {@code newNodeId} is a member
     * other than a stale one (which rejoins as rebuilding: in a set whose every node is a member, the
     * only place a draining member can move to).
     */
    public Optional<ReplicaSet> startMove(long familyId, int column, String oldNodeId, String newNodeId) {
        return join(familyId, column, oldNodeId, newNodeId, true);
    }

    private Optional<ReplicaSet> join(
            long familyId, int column, String oldNodeId, String newNodeId, boolean oldStaysInSync) {
        return Objects.requireNonNull(tx.execute(status -> {
            repository.lock(familyId);
            Optional<ReplicaSet> found = repository.of(familyId).stream()
                    .filter(set -> set.column() == column)
                    .findFirst();
            if (found.isEmpty()) {
                return Optional.<ReplicaSet>empty();
            }
            ReplicaSet set = found.get();
            boolean oldIsMember =
                    set.members().stream().anyMatch(member -> member.nodeId().equals(oldNodeId));
            boolean newIsMember =
                    set.members().stream().anyMatch(member -> member.nodeId().equals(newNodeId));
            boolean newIsStale = set.members().stream()
                    .anyMatch(member -> member.nodeId().equals(newNodeId) && member.state() == ReplicaSet.State.STALE);
            if (!oldIsMember
                    || (newIsMember && !(oldStaysInSync && newIsStale))
                    || !set.rebuilding().isEmpty()
                    || (oldStaysInSync && !set.hasInSync(oldNodeId))) {
                return Optional.<ReplicaSet>empty();
            }
            if (newIsMember) {
                repository.changeState(
                        familyId, column, newNodeId, ReplicaSet.State.STALE, ReplicaSet.State.REBUILDING);
            } else {
                repository.addRebuilding(familyId, column, newNodeId);
            }
            if (!oldStaysInSync && set.hasInSync(oldNodeId)) {
                repository.markStale(familyId, oldNodeId, List.of(column)); // bumps the epoch
            } else {
                repository.bumpEpoch(familyId, column);
            }
            ReplicaSet now = column(repository.of(familyId), familyId, column);
            events.publishEvent(new EpochsRaised(List.of(now)));
            return Optional.of(now);
        }));
    }

    /**
     * The end of a rebuild: the rebuilding {@code newNodeId} becomes in sync and {@code oldNodeId}
     * leaves the set, the epoch going up, in the caller's transaction. False, changing nothing, when
     * {@code newNodeId} is no longer rebuilding there (it was dropped meanwhile).
     */
    public boolean finishRebuild(long familyId, int column, String oldNodeId, String newNodeId) {
        return Boolean.TRUE.equals(tx.execute(status -> {
            repository.lock(familyId);
            if (!repository.replace(familyId, column, oldNodeId, newNodeId)) {
                return false;
            }
            events.publishEvent(new EpochsRaised(List.of(column(repository.of(familyId), familyId, column))));
            return true;
        }));
    }

    /**
     * The start of a catch-up (decision 012): the stale member on {@code nodeId}, whose node came
     * back, rejoins column {@code column} of the family as {@code rebuilding}; the epoch goes up (the
     * attachment's tokens include it from then on, and the fences are raised). Empty, changing
     * nothing, when it is not stale there, a member is rebuilding there already, or the node is
     * rebuilding in another column of the family.
     */
    public Optional<ReplicaSet> startCatchUp(long familyId, int column, String nodeId) {
        return Objects.requireNonNull(tx.execute(status -> {
            repository.lock(familyId);
            List<ReplicaSet> family = repository.of(familyId);
            Optional<ReplicaSet> found =
                    family.stream().filter(set -> set.column() == column).findFirst();
            // one catch-up of a node per family at a time: its lc holds all its columns' PCs
            if (found.isEmpty()
                    || !found.get().rebuilding().isEmpty()
                    || family.stream().anyMatch(set -> set.hasRebuilding(nodeId))) {
                return Optional.<ReplicaSet>empty();
            }
            if (!repository.changeState(
                    familyId, column, nodeId, ReplicaSet.State.STALE, ReplicaSet.State.REBUILDING)) {
                return Optional.<ReplicaSet>empty();
            }
            repository.bumpEpoch(familyId, column);
            ReplicaSet now = column(repository.of(familyId), familyId, column);
            events.publishEvent(new EpochsRaised(List.of(now)));
            return Optional.of(now);
        }));
    }

    /**
     * The end of a catch-up: the rebuilding member on {@code nodeId} is in sync again, the epoch going
     * up, in the caller's transaction. False, changing nothing, when it is no longer rebuilding there.
     */
    public boolean finishCatchUp(long familyId, int column, String nodeId) {
        return Boolean.TRUE.equals(tx.execute(status -> {
            repository.lock(familyId);
            if (!repository.changeState(
                    familyId, column, nodeId, ReplicaSet.State.REBUILDING, ReplicaSet.State.IN_SYNC)) {
                return false;
            }
            repository.bumpEpoch(familyId, column);
            events.publishEvent(new EpochsRaised(List.of(column(repository.of(familyId), familyId, column))));
            return true;
        }));
    }

    /**
     * A rebuild given up: {@code newNodeId}, if still rebuilding in the column, is marked stale and
     * the epoch goes up, in the caller's transaction.
     */
    public void abandonRebuild(long familyId, int column, String newNodeId) {
        tx.executeWithoutResult(status -> {
            repository.lock(familyId);
            boolean rebuilding = repository.of(familyId).stream()
                    .anyMatch(set -> set.column() == column && set.hasRebuilding(newNodeId));
            if (rebuilding) {
                dropped(familyId, newNodeId, List.of(column));
            }
        });
    }

    /**
     * A drain's move given up: {@code newNodeId}, if still rebuilding in the column, leaves the set
     * (it never was in sync there, and the member it was to replace still is), the epoch going up.
     * Left stale instead it would stay a member, and the next move would need yet another node.
     */
    public void abandonMove(long familyId, int column, String newNodeId) {
        tx.executeWithoutResult(status -> {
            repository.lock(familyId);
            boolean rebuilding = repository.of(familyId).stream()
                    .anyMatch(set -> set.column() == column && set.hasRebuilding(newNodeId));
            if (rebuilding) {
                repository.removeMember(familyId, column, newNodeId);
                repository.bumpEpoch(familyId, column);
                events.publishEvent(new EpochsRaised(List.of(column(repository.of(familyId), familyId, column))));
            }
        });
    }

    /**
     * The node whose copy of an lc is the rebuild source of that lc on {@code nodeId} (decision 012),
     * which is rebuilding in a column of the family (or about to, in {@code joining}; -1 for none):
     * a node's lc holds the PCs of all its columns and has one source for all of them, so the source
     * must be in sync in every column where {@code nodeId} takes writes. The first such node in the
     * read order of the column it rebuilds in, else by id; empty when there is none.
     */
    public static Optional<String> rebuildSource(List<ReplicaSet> family, String nodeId, int joining) {
        List<ReplicaSet> columns = family.stream()
                .filter(set -> set.column() == joining || set.writerNodeIds().contains(nodeId))
                .toList();
        List<String> order = new ArrayList<>();
        family.stream()
                .filter(set -> set.column() == joining || set.hasRebuilding(nodeId))
                .forEach(set -> order.addAll(set.readOrder()));
        family.stream().flatMap(set -> set.inSyncNodeIds().stream()).sorted().forEach(order::add);
        return order.stream()
                .filter(candidate -> !candidate.equals(nodeId))
                .filter(candidate -> columns.stream().allMatch(set -> set.hasInSync(candidate)))
                .findFirst();
    }

    /**
     * The rebuild sources of a family's lcs on {@code nodeId} (decision 012): the stripe columns
     * {@code nodeId} is rebuilding in (or about to, in {@code joining}; -1 for none), which are the
     * only ones where a partial write needs a source (in its other columns it is in sync, and its
     * own chain is complete), and the nodes in sync in every one of those, in the order to try
     * them: the read order of those columns. A node's lc has one list for all its columns, so that
     * a rebuild's source that dies is replaced by the next one without failing a write.
     *
     * @param nodeIds empty when no node is in sync in all of {@code columns}
     */
    public record RebuildSources(List<String> nodeIds, Set<Integer> columns) {

        public RebuildSources {
            nodeIds = List.copyOf(nodeIds);
            columns = Set.copyOf(columns);
        }
    }

    /** See {@link RebuildSources}. */
    public static RebuildSources rebuildSources(List<ReplicaSet> family, String nodeId, int joining) {
        List<ReplicaSet> rebuilt = family.stream()
                .filter(set -> set.column() == joining || set.hasRebuilding(nodeId))
                .toList();
        List<String> order = new ArrayList<>();
        rebuilt.forEach(set -> order.addAll(set.readOrder()));
        List<String> sources = order.stream()
                .distinct()
                .filter(candidate -> !candidate.equals(nodeId))
                .filter(candidate -> rebuilt.stream().allMatch(set -> set.hasInSync(candidate)))
                .toList();
        Set<Integer> columns = new HashSet<>();
        rebuilt.forEach(set -> columns.add(set.column()));
        return new RebuildSources(sources, columns);
    }

    /** For each node with a stale member somewhere, the families where it has one. */
    public Map<String, Set<Long>> familiesWithStaleMembers() {
        return repository.familiesWithStaleMembers();
    }

    /** The sets {@code nodeId} is a member of, in any state, as family, column and epoch. */
    public List<Fence> membershipsOf(String nodeId) {
        return repository.membershipsOf(nodeId);
    }

    /** The fences {@code nodeId} should hold: every set it is a member of whose epoch is past 1. */
    public List<Fence> fencesOf(String nodeId) {
        return repository.raisedFencesOf(nodeId);
    }

    /** {@link #fencesOf} for every node at once. */
    public Map<String, List<Fence>> fences() {
        return repository.raisedFences();
    }

    /**
     * The members of each family whose sets are settled: every column has {@code replicas} members,
     * all in sync. Families degraded or rebuilding anywhere are absent.
     */
    public Map<Long, Set<String>> settledMembersByFamily() {
        return repository.settledMembersByFamily(replicas);
    }

    /** For each placed family, the nodes in sync in at least one of its columns: those that hold all its lcs. */
    public Map<Long, Set<String>> inSyncNodesByFamily() {
        return repository.inSyncNodesByFamily();
    }

    /** The sets of all of {@code familyIds}, by family and column; nothing is placed. One query. */
    public List<ReplicaSet> of(Collection<Long> familyIds) {
        return repository.of(familyIds);
    }
}
