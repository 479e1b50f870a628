package dev.sprig.api.backend.remote;

import dev.sprig.api.node.Node;
import dev.sprig.api.node.NodeRegistry;
import dev.sprig.api.placement.EpochsRaised;
import dev.sprig.api.placement.Fence;
import dev.sprig.api.placement.ReplicaSet;
import dev.sprig.api.placement.ReplicaSets;
import dev.sprig.nodeapi.FenceView;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.context.event.EventListener;
import org.springframework.transaction.event.TransactionalEventListener;

/**
 * Raises the nodes' replica-set fences to the epochs the database records (decision 011): on the
 * remaining members of a set once the transaction that dropped a member commits, on a node that
 * comes back after being unreachable or down (it may have missed raises), and from the reconciler.
 * Epochs and fences only go up, so every raise can be repeated or come late; the database is the
 * authority and the nodes converge on it. All of it is best effort: a node that does not answer (or
 * does not know fences yet) is logged and left for the next time, never failing the caller.
 */
final class Fences implements DisposableBean {

    private static final Logger log = LoggerFactory.getLogger(Fences.class);

    private final ReplicaSets sets;
    private final NodeRegistry registry;
    private final NodeClient client;
    private final NodeCalls calls;

    /** Pushes for nodes that came back, off the registration's thread. */
    private final ExecutorService returns = Executors.newSingleThreadExecutor(work -> {
        var thread = new Thread(work, "fence-push");
        thread.setDaemon(true);
        return thread;
    });

    Fences(ReplicaSets sets, NodeRegistry registry, NodeClient client, NodeCalls calls) {
        this.sets = sets;
        this.registry = registry;
        this.client = client;
        this.calls = calls;
    }

    /**
     * After the commit of the transaction that bumped the epochs (at once when there was none): a
     * rolled-back bump must not fence the epoch that is still current. Runs before the request that
     * dropped the member answers, so that its caller gets an answer only once the fences are up.
     */
    @TransactionalEventListener(fallbackExecution = true)
    void epochsRaised(EpochsRaised raised) {
        for (ReplicaSet set : raised.sets()) {
            // the rebuilding members too: they take the column's writes at this epoch (decision 012)
            for (String nodeId : set.writerNodeIds()) {
                raise(nodeId, new Fence(set.familyId(), set.column(), set.epoch()));
            }
        }
    }

    @EventListener
    void nodeReturned(NodeRegistry.NodeReturned returned) {
        try {
            returns.execute(() -> {
                try {
                    push(registry.get(returned.nodeId()), sets.fencesOf(returned.nodeId()));
                } catch (RuntimeException e) {
                    log.warn("Could not push the fences of node {}: {}", returned.nodeId(), e.getMessage());
                }
            });
        } catch (RejectedExecutionException stopping) {
            // shutting down: the reconciler of another instance, or the next start, catches up
        }
    }

    /** Every node that is not down gets the fences it lacks. */
    void pushAll() {
        Map<String, List<Fence>> expected = sets.fences();
        for (Node node : registry.all()) {
            List<Fence> due = expected.getOrDefault(node.nodeId(), List.of());
            if (due.isEmpty() || registry.stateOf(node) == Node.State.DOWN) {
                continue;
            }
            try {
                push(node, due);
            } catch (RuntimeException e) {
                log.warn("Could not push the fences of node {}: {}", node.nodeId(), e.getMessage());
            }
        }
    }

    /**
     * Raises the fences of {@code due} that the node holds lower (all of them when it cannot list
     * its fences); stops at the first refusal or silence, which would only repeat.
     */
    private void push(Node node, List<Fence> due) {
        if (due.isEmpty()) {
            return;
        }
        NodeClient.Target target = RemoteBackend.target(node);
        Map<List<Long>, Long> held = new HashMap<>();
        try {
            for (FenceView fence : calls.call(node.nodeId(), () -> client.fences(target))) {
                held.put(List.of(fence.familyId(), (long) fence.column()), fence.epoch());
            }
        } catch (NodeClient.Refused cannotList) {
            log.debug("Node {} does not list its fences: {}", node.nodeId(), cannotList.getMessage());
        }
        for (Fence fence : due) {
            if (held.getOrDefault(List.of(fence.familyId(), (long) fence.column()), 0L) >= fence.epoch()) {
                continue;
            }
            if (!raise(node.nodeId(), fence)) {
                return;
            }
        }
    }

    /** True when the node took the fence. */
    private boolean raise(String nodeId, Fence fence) {
        try {
            NodeClient.Target target = RemoteBackend.target(registry.node(nodeId));
            calls.call(nodeId, () -> client.fence(target, fence.familyId(), fence.column(), fence.epoch()));
            return true;
        } catch (RuntimeException e) {
            log.warn(
                    "Could not raise the fence of column {} of family {} to epoch {} on node {}: {}",
                    fence.column(),
                    fence.familyId(),
                    fence.epoch(),
                    nodeId,
                    e.getMessage());
            return false;
        }
    }

    @Override
    public void destroy() {
        returns.shutdownNow();
    }
}
