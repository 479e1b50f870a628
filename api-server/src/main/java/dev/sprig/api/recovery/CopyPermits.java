package dev.sprig.api.recovery;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
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

    CopyPermits(int perNode) {
        this.perNode = perNode;
    }

    long run(String targetNodeId, String sourceNodeId, LongSupplier copy) {
        List<String> order = targetNodeId.compareTo(sourceNodeId) <= 0
                ? List.of(targetNodeId, sourceNodeId)
                : List.of(sourceNodeId, targetNodeId);
        Semaphore first = semaphore(order.get(0));
        Semaphore second = semaphore(order.get(1));
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

    private Semaphore semaphore(String nodeId) {
        return nodes.computeIfAbsent(nodeId, node -> new Semaphore(perNode));
    }
}
