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
        record Candidate(ReplicaSet set, String oldNodeId) {}
        List<Candidate> candidates = new ArrayList<>();
        Set<String> down = registry.all().stream()
                .filter(node -> registry.stateOf(node) == Node.State.DOWN)
                .map(Node::nodeId)
                .collect(Collectors.toSet());
        for (Node node : registry.all()) {
            if (!down.contains(node.nodeId())) {
                continue;
            }
            List<Fence> memberships = sets.membershipsOf(node.nodeId());
            Set<Long> families = memberships.stream().map(Fence::familyId).collect(Collectors.toSet());
            Set<List<Long>> memberOf = memberships.stream()
                    .map(fence -> List.of(fence.familyId(), (long) fence.column()))
                    .collect(Collectors.toSet());
            for (ReplicaSet set : sets.of(families)) {
                if (memberOf.contains(List.of(set.familyId(), (long) set.column())) && needsMember(set, down)) {
                    candidates.add(new Candidate(set, node.nodeId()));
                }
            }
        }
        candidates.sort(Comparator.comparingInt(
                        (Candidate candidate) -> candidate.set().inSync().size())
                .thenComparingLong(candidate -> candidate.set().familyId())
                .thenComparingInt(candidate -> candidate.set().column()));
        List<Operation> started = new ArrayList<>();
        for (Candidate candidate : candidates) {
            start(candidate.set(), candidate.oldNodeId()).ifPresent(started::add);
        }
        return started;
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

    private Optional<Operation> start(ReplicaSet set, String oldNodeId) {
        String target = Recovery.target(set.familyId(), set.column());
        if (operations.runningOn(target).isPresent()) {
            return Optional.empty();
        }
        Set<String> members =
                set.members().stream().map(ReplicaSet.Member::nodeId).collect(Collectors.toSet());
        Optional<Node> replacement = registry.forNewFamilies().stream()
                .filter(node -> !members.contains(node.nodeId()))
                .findFirst();
        if (replacement.isEmpty()) {
            log.debug(
                    "Column {} of family {} has a member on down node {} and no node to replace it",
                    set.column(),
                    set.familyId(),
                    oldNodeId);
            return Optional.empty();
        }
        String newNodeId = replacement.get().nodeId();
        try {
            // before it joins: from the join's commit on, agents write to it, and a write to an lc it
            // does not have would fail and drop it
            ReplicaCopies nodes = Objects.requireNonNull(copies.getIfAvailable());
            List<Lc> lcs = recoveries.lcsOf(set.familyId());
            nodes.define(newNodeId, RecoveryWork.specs(lcs));
            // and its rebuild sources, for the partial writes it gets before the fill gets there
            Optional<String> source = ReplicaSets.rebuildSource(sets.of(set.familyId()), newNodeId, set.column());
            if (source.isPresent()) {
                for (Lc lc : lcs) {
                    nodes.setRebuildSource(newNodeId, source.get(), lc.lcId());
                }
            }
        } catch (RuntimeException unavailable) {
            log.warn(
                    "Could not prepare node {} to replace down node {} in column {} of family {}: {}",
                    newNodeId,
                    oldNodeId,
                    set.column(),
                    set.familyId(),
                    unavailable.getMessage());
            return Optional.empty();
        }
        Optional<Operation> started = tx.execute(status -> {
            if (sets.startRebuild(set.familyId(), set.column(), oldNodeId, newNodeId)
                    .isEmpty()) {
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
                "Recovery {}: node {} replaces down node {} in column {} of family {}",
                started.get().id(),
                newNodeId,
                oldNodeId,
                set.column(),
                set.familyId());
        runner.submit(started.get());
        return started;
    }
}
