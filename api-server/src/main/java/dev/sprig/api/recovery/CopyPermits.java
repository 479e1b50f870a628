package dev.sprig.api.recovery;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * {@code sprig.api.recovery.concurrent-copies} per node: a copy holds a permit of its target and
 * one of its source while it runs. Both are taken in node-id order, so that two copies between the
 * same two nodes in opposite directions cannot each hold one and wait for the other. Recoveries run
 * on the leader only, so the permits are this process's.
 */
final class CopyPermits {

    private final int perNode;
    private final Map<String, Semaphore> nodes = new ConcurrentHashMap<>();
    /** Copies that hold or wait for a node's permit, by node. */
    private final Map<String, AtomicInteger> claims = new ConcurrentHashMap<>();

    CopyPermits(int perNode) {
        this.perNode = perNode;
    }

    long run(String targetNodeId, String sourceNodeId, LongSupplier copy) {
        List<String> order = targetNodeId.compareTo(sourceNodeId) <= 0
                ? List.of(targetNodeId, sourceNodeId)
                : List.of(sourceNodeId, targetNodeId);
        Semaphore first = semaphore(order.get(0));
        Semaphore second = semaphore(order.get(1));
        order.forEach(node -> claims(node).incrementAndGet());
        try {
            return run(first, second, copy);
        } finally {
            order.forEach(node -> claims(node).decrementAndGet());
        }
    }

    /**
     * {@code candidates} (sources, in the order reads try them) with the nodes that the fewest
     * copies hold or wait for first, ties in the given order: two recoveries whose first choice is
     * the same node, one of them its target as well, spread over the other members instead of
     * queueing for that node's permits while the others idle.
     */
    List<String> leastClaimedFirst(List<String> candidates) {
        List<String> order = new ArrayList<>(candidates);
        order.sort(Comparator.comparingInt(node -> claims(node).get()));
        return order;
    }

    private static long run(Semaphore first, Semaphore second, LongSupplier copy) {
        first.acquireUninterruptibly();
        try {
            second.acquireUninterruptibly();
            try {
                return copy.getAsLong();
            } finally {
                second.release();
            }
        } finally {
            first.release();
        }
    }

    private AtomicInteger claims(String nodeId) {
        return claims.computeIfAbsent(nodeId, node -> new AtomicInteger());
    }

    private Semaphore semaphore(String nodeId) {
        return nodes.computeIfAbsent(nodeId, node -> new Semaphore(perNode));
    }
}
