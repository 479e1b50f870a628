package dev.sprig.api.recovery;

import dev.sprig.api.SprigApiProperties;
import dev.sprig.api.backend.ReplicaCopies;
import dev.sprig.api.database.Transactions;
import dev.sprig.api.leader.Leadership;
import dev.sprig.api.lineage.Lc;
import dev.sprig.api.node.Node;
import dev.sprig.api.node.NodeRegistry;
import dev.sprig.api.operation.Operation;
import dev.sprig.api.operation.OperationRepository;
import dev.sprig.api.operation.OperationRunner;
import dev.sprig.api.placement.Fence;
import dev.sprig.api.placement.ReplicaSet;
import dev.sprig.api.placement.ReplicaSets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Service;

/**
 * Starts recoveries (decision 012): every {@code sprig.api.recovery.scan-interval}, the leader looks
 * for replica-set members whose node has been down for {@code sprig.api.nodes.down-after} and
 * replaces each by a new node: up, not draining, not a member of the set, with the most free space.
 * The new member joins as {@code rebuilding} with an epoch bump, in the transaction that records
 * the recovery operation; the operation ({@link RecoveryWork}) then fills it. Sets with the fewest
 * in-sync members go first. A set that has a rebuilding member or a running recovery is left alone,
 * and so is one that has {@code replicas} members taking writes on live nodes already, or no
 * in-sync member on a live node to copy from.
 *
 * <p>A member that is stale on a node that is up again (it came back before {@code down-after}) is
 * caught up instead (first): it rejoins as rebuilding and copies only the segments that differ from
 * an in-sync member ({@link CatchUpWork}).
 *
 * <p>Drain is the same machinery: an in-sync member on a draining node that is still up is replaced
 * the same way, except that it stays in sync (serving reads, taking writes) until the new member is,
 * so the column never has fewer in-sync copies than before (a stale member on a draining node holds
 * nothing to serve, and is replaced as a dead node's is); then it leaves the set, and once the
 * node is a member of none of a family's sets its copies of the family's lcs are deleted. Sets that
 * need repair go before drains.
 */
@Service
public class Recoveries {

    private static final Logger log = LoggerFactory.getLogger(Recoveries.class);

    private final ReplicaSets sets;
    private final NodeRegistry registry;
    private final OperationRepository operations;
    private final OperationRunner runner;
    private final RecoveryRepository recoveries;
    private final Transactions tx;
    private final Leadership leadership;
    private final ObjectProvider<ReplicaCopies> copies;
    private final boolean enabled;
    private final int replicas;

    Recoveries(
            ReplicaSets sets,
            NodeRegistry registry,
            OperationRepository operations,
            OperationRunner runner,
            RecoveryRepository recoveries,
            Transactions tx,
            Leadership leadership,
            ObjectProvider<ReplicaCopies> copies,
            SprigApiProperties properties) {
        this.sets = sets;
        this.registry = registry;
        this.operations = operations;
        this.runner = runner;
        this.recoveries = recoveries;
        this.tx = tx;
        this.leadership = leadership;
        this.copies = copies;
        this.enabled = properties.recovery().enabled();
        this.replicas = properties.backend().nodes().replicas();
    }

    @Scheduled(
            initialDelayString = "${sprig.api.recovery.scan-interval:10s}",
            fixedDelayString = "${sprig.api.recovery.scan-interval:10s}")
    void periodic() {
        try {
            scan();
        } catch (RuntimeException e) {
            log.warn("Looking for replica-set members to replace failed: {}", e.getMessage());
        }
    }

    /**
     * One pass, on the leader of a nodes backend with recovery enabled; the recoveries it started.
     */
    public List<Operation> scan() {
        if (!enabled || copies.getIfAvailable() == null || !leadership.leads()) {
            return List.of();
        }
        List<Candidate> candidates = new ArrayList<>();
        Set<String> down = registry.all().stream()
                .filter(node -> registry.stateOf(node) == Node.State.DOWN)
                .map(Node::nodeId)
                .collect(Collectors.toSet());
        List<Candidate> moves = new ArrayList<>();
        for (Node node : registry.all()) {
            Node.State state = registry.stateOf(node);
            if (state != Node.State.DOWN && state != Node.State.DRAINING) {
                continue;
            }
            List<Fence> memberships = sets.membershipsOf(node.nodeId());
            Set<Long> families = memberships.stream().map(Fence::familyId).collect(Collectors.toSet());
            Set<List<Long>> memberOf = memberships.stream()
                    .map(fence -> List.of(fence.familyId(), (long) fence.column()))
                    .collect(Collectors.toSet());
            for (ReplicaSet set : sets.of(families)) {
                if (!memberOf.contains(List.of(set.familyId(), (long) set.column()))) {
                    continue;
                }
                if (state == Node.State.DOWN && needsMember(set, down)) {
                    candidates.add(new Candidate(set, node.nodeId(), false));
                } else if (state == Node.State.DRAINING && canMove(set, node.nodeId(), down)) {
                    moves.add(new Candidate(set, node.nodeId(), true));
                } else if (state == Node.State.DRAINING && isStale(set, node.nodeId()) && needsMember(set, down)) {
                    // a stale member on a draining node is never caught up there: replaced as a dead one is
                    candidates.add(new Candidate(set, node.nodeId(), false));
                }
            }
        }
        Comparator<Candidate> order = Comparator.comparingInt(
                        (Candidate candidate) -> candidate.set().inSync().size())
                .thenComparingLong(candidate -> candidate.set().familyId())
                .thenComparingInt(candidate -> candidate.set().column());
        candidates.sort(order);
        moves.sort(order);
        // repairs first: a set that lost a member gets its replacement before any set gives one up
        candidates.addAll(moves);
        List<Operation> started = new ArrayList<>();
        // catch-ups first: a member that came back copies only what it missed, far less than a new one
        for (CatchUpCandidate candidate : catchUpCandidates(down)) {
            startCatchUp(candidate).ifPresent(started::add);
        }
        for (Candidate candidate : candidates) {
            start(candidate).ifPresent(started::add);
        }
        return started;
    }

    /** A stale member on {@code nodeId}, whose node is up again, to catch up in {@code set}. */
    private record CatchUpCandidate(ReplicaSet set, String nodeId) {}

    /**
     * The stale members on nodes that are up (registered again, not draining) of sets that need them:
     * no member rebuilding, fewer than {@code replicas} members taking writes on nodes that are not
     * down (a set that got its replacement already leaves the old member stale), the node rebuilding
     * in no other column of the family (its lc, one for all its columns, has one catch-up state), and
     * a node in sync in every column where it takes writes, and in this one, to copy from.
     */
    private List<CatchUpCandidate> catchUpCandidates(Set<String> down) {
        List<CatchUpCandidate> found = new ArrayList<>();
        // the few stale members, through their index: not every membership of every node, every scan
        Map<String, Set<Long>> staleIn = sets.familiesWithStaleMembers();
        for (Node node : registry.all()) {
            String nodeId = node.nodeId();
            Set<Long> families = staleIn.getOrDefault(nodeId, Set.of());
            if (families.isEmpty() || registry.stateOf(node) != Node.State.UP) {
                continue;
            }
            List<ReplicaSet> all = sets.of(families);
            for (ReplicaSet set : all) {
                boolean stale = set.members().stream()
                        .anyMatch(member -> member.nodeId().equals(nodeId) && member.state() == ReplicaSet.State.STALE);
                if (!stale || !set.rebuilding().isEmpty()) {
                    continue;
                }
                long writers = set.writerNodeIds().stream()
                        .filter(writer -> !down.contains(writer))
                        .count();
                List<ReplicaSet> family = all.stream()
                        .filter(other -> other.familyId() == set.familyId())
                        .toList();
                boolean rebuildingElsewhere = family.stream().anyMatch(other -> other.hasRebuilding(nodeId));
                if (writers >= replicas
                        || rebuildingElsewhere
                        || ReplicaSets.rebuildSource(family, nodeId, set.column())
                                .isEmpty()) {
                    continue;
                }
                found.add(new CatchUpCandidate(set, nodeId));
            }
        }
        found.sort(Comparator.comparingInt(
                        (CatchUpCandidate candidate) -> candidate.set().inSync().size())
                .thenComparingLong(candidate -> candidate.set().familyId())
                .thenComparingInt(candidate -> candidate.set().column()));
        return found;
    }

    /**
     * Starts the catch-up of the stale member (decision 012): before it rejoins, the node gets the
     * family's lcs it lacks (and freezes those frozen meanwhile), and each lc its source in catch-up
     * mode, pending (every segment it holds in the column is suspect until the comparison names the
     * ones that differ); then, in the transaction that records the operation, it rejoins as
     * rebuilding (the epoch goes up, the fences are raised). Lcs deleted while it was away are left
     * to the reconciler, which deletes what the database does not know.
     */
    private Optional<Operation> startCatchUp(CatchUpCandidate candidate) {
        ReplicaSet set = candidate.set();
        String nodeId = candidate.nodeId();
        String target = Recovery.target(set.familyId(), set.column());
        if (operations.runningOn(target).isPresent()) {
            return Optional.empty();
        }
        List<ReplicaSet> family = sets.of(set.familyId());
        // again, as it is now: an earlier candidate of this pass may have started a catch-up of the
        // node in another column, whose catch-up state (one per lc, for all columns) must stay as it is
        if (family.stream().anyMatch(other -> other.hasRebuilding(nodeId))) {
            return Optional.empty();
        }
        Optional<String> source = ReplicaSets.rebuildSource(family, nodeId, set.column());
        if (source.isEmpty()) {
            return Optional.empty();
        }
        try {
            ReplicaCopies nodes = Objects.requireNonNull(copies.getIfAvailable());
            List<Lc> lcs = recoveries.lcsOf(set.familyId());
            nodes.define(nodeId, RecoveryWork.specs(lcs));
            for (Lc lc : lcs) {
                nodes.setCatchUpSource(nodeId, source.get(), lc.lcId(), set.column(), family.size());
            }
        } catch (RuntimeException unavailable) {
            log.warn(
                    "Could not prepare node {} to catch up in column {} of family {}: {}",
                    nodeId,
                    set.column(),
                    set.familyId(),
                    unavailable.getMessage());
            return Optional.empty();
        }
        Optional<Operation> started = tx.execute(status -> {
            if (sets.startCatchUp(set.familyId(), set.column(), nodeId).isEmpty()) {
                return Optional.<Operation>empty();
            }
            Operation operation = operations.start(Operation.Kind.RECOVERY, target, 0);
            recoveries.insert(operation.id(), set.familyId(), set.column(), nodeId, nodeId);
            return Optional.of(operation);
        });
        if (started == null || started.isEmpty()) {
            return Optional.empty();
        }
        log.info(
                "Recovery {}: node {} is back and catches up in column {} of family {} from node {}",
                started.get().id(),
                nodeId,
                set.column(),
                set.familyId(),
                source.get());
        runner.submit(started.get());
        return started;
    }

    private static void setRebuildSources(
            ReplicaCopies nodes, String nodeId, List<Lc> lcs, List<ReplicaSet> family, int column) {
        ReplicaSets.RebuildSources sources = ReplicaSets.rebuildSources(family, nodeId, column);
        if (sources.nodeIds().isEmpty()) {
            return;
        }
        for (Lc lc : lcs) {
            nodes.setRebuildSources(nodeId, sources.nodeIds(), lc.lcId(), sources.columns(), family.size());
        }
    }

    /**
     * Whether the node holds any segment in the column's PCs of the family's lcs it had before
     * ({@code defined} are those it just got): it cannot, unless it was a member of the column
     * before, since a node gets writes and fills only for its columns.
     */
    private static boolean holdsSegmentsOf(
            ReplicaCopies nodes, String nodeId, List<Lc> lcs, List<Long> defined, int column, int columns) {
        for (Lc lc : lcs) {
            if (!defined.contains(lc.lcId())
                    && !nodes.heldSegments(nodeId, lc.lcId(), lc.sizeBytes(), column, columns)
                            .isEmpty()) {
                return true;
            }
        }
        return false;
    }

    /**
     * A set to start a recovery in: its member on {@code oldNodeId} is replaced, because that node is
     * down, or, when {@code move}, because it is draining (the old member stays in sync meanwhile).
     */
    private record Candidate(ReplicaSet set, String oldNodeId, boolean move) {}

    /**
     * Whether a drain may move the set's member on the draining {@code nodeId}: that member is in
     * sync (a stale one is replaced instead, as a dead node's is), none is rebuilding, and an in-sync member on a node that is
     * not down is there to copy from; the draining node itself counts, it is up and in sync.
     */
    private static boolean isStale(ReplicaSet set, String nodeId) {
        return set.members().stream()
                .anyMatch(member -> member.nodeId().equals(nodeId) && member.state() == ReplicaSet.State.STALE);
    }

    private static boolean canMove(ReplicaSet set, String nodeId, Set<String> down) {
        return set.hasInSync(nodeId)
                && set.rebuilding().isEmpty()
                && set.inSyncNodeIds().stream().anyMatch(node -> !down.contains(node));
    }

    /**
     * Whether the set should get a new member: none is rebuilding, fewer than {@code replicas} of its
     * members that take writes are on nodes that are not down (a set that got its replacement keeps
     * the dead node's stale member, which must not bring in a second one), and an in-sync member on
     * a node that is not down is there to copy from.
     */
    private boolean needsMember(ReplicaSet set, Set<String> down) {
        if (!set.rebuilding().isEmpty()) {
            return false;
        }
        long writers = set.writerNodeIds().stream()
                .filter(node -> !down.contains(node))
                .count();
        boolean source = set.inSyncNodeIds().stream().anyMatch(node -> !down.contains(node));
        return writers < replicas && source;
    }

    private Optional<Operation> start(Candidate candidate) {
        ReplicaSet set = candidate.set();
        String oldNodeId = candidate.oldNodeId();
        String why = candidate.move()
                ? "draining"
                : registry.stateOf(registry.node(oldNodeId)) == Node.State.DRAINING ? "stale, draining" : "down";
        String target = Recovery.target(set.familyId(), set.column());
        if (operations.runningOn(target).isPresent()) {
            return Optional.empty();
        }
        Set<String> members =
                set.members().stream().map(ReplicaSet.Member::nodeId).collect(Collectors.toSet());
        // a move may also go to a stale member on a node that is up: when every node is a member of
        // the set, the draining one has nowhere else to go (its old copies are caught up, below)
        Set<String> stale = set.members().stream()
                .filter(member -> member.state() == ReplicaSet.State.STALE)
                .map(ReplicaSet.Member::nodeId)
                .collect(Collectors.toSet());
        Optional<Node> replacement = registry.forNewFamilies().stream()
                .filter(node -> !members.contains(node.nodeId()))
                .findFirst()
                .or(() -> registry.forNewFamilies().stream()
                        .filter(node -> candidate.move() && stale.contains(node.nodeId()))
                        .findFirst());
        if (replacement.isEmpty()) {
            log.debug(
                    "Column {} of family {} has a member on {} node {} and no node to replace it",
                    set.column(),
                    set.familyId(),
                    why,
                    oldNodeId);
            return Optional.empty();
        }
        String newNodeId = replacement.get().nodeId();
        try {
            // before it joins: from the join's commit on, agents write to it, and a write to an lc it
            // does not have would fail and drop it
            ReplicaCopies nodes = Objects.requireNonNull(copies.getIfAvailable());
            List<Lc> lcs = recoveries.lcsOf(set.familyId());
            List<Long> defined = nodes.define(newNodeId, RecoveryWork.specs(lcs));
            List<ReplicaSet> family = sets.of(set.familyId());
            if (holdsSegmentsOf(nodes, newNodeId, lcs, defined, set.column(), family.size())) {
                // copies left from an earlier membership of this column (it was replaced while down,
                // drained while a move of another column kept its lcs, a move to it failed): they
                // missed writes, and a fill, which never overwrites, would keep them. So it joins
                // as a returning member does: caught up, every segment it holds in the column
                // suspect until compared with the source's (decision 012)
                Optional<String> source = ReplicaSets.rebuildSource(family, newNodeId, set.column());
                if (source.isEmpty() || family.stream().anyMatch(other -> other.hasRebuilding(newNodeId))) {
                    log.debug(
                            "Node {} holds old copies of column {} of family {}, and cannot be caught up there now",
                            newNodeId,
                            set.column(),
                            set.familyId());
                    return Optional.empty();
                }
                for (Lc lc : lcs) {
                    nodes.setCatchUpSource(newNodeId, source.get(), lc.lcId(), set.column(), family.size());
                }
                log.info(
                        "Node {} holds old copies of column {} of family {}: it is caught up from node {}",
                        newNodeId,
                        set.column(),
                        set.familyId(),
                        source.get());
            } else {
                // and its rebuild sources, for the partial writes it gets before the fill gets there
                setRebuildSources(nodes, newNodeId, lcs, family, set.column());
            }
        } catch (RuntimeException unavailable) {
            log.warn(
                    "Could not prepare node {} to replace {} node {} in column {} of family {}: {}",
                    newNodeId,
                    why,
                    oldNodeId,
                    set.column(),
                    set.familyId(),
                    unavailable.getMessage());
            return Optional.empty();
        }
        Optional<Operation> started = tx.execute(status -> {
            Optional<ReplicaSet> joined = candidate.move()
                    ? sets.startMove(set.familyId(), set.column(), oldNodeId, newNodeId)
                    : sets.startRebuild(set.familyId(), set.column(), oldNodeId, newNodeId);
            if (joined.isEmpty()) {
                return Optional.<Operation>empty();
            }
            Operation operation = operations.start(Operation.Kind.RECOVERY, target, 0);
            recoveries.insert(operation.id(), set.familyId(), set.column(), oldNodeId, newNodeId);
            return Optional.of(operation);
        });
        if (started == null || started.isEmpty()) {
            return Optional.empty();
        }
        log.info(
                "Recovery {}: node {} replaces {} node {} in column {} of family {}",
                started.get().id(),
                newNodeId,
                why,
                oldNodeId,
                set.column(),
                set.familyId());
        runner.submit(started.get());
        return started;
    }
}
