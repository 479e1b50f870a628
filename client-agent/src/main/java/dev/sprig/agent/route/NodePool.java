package dev.sprig.agent.route;

import java.io.IOException;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Keep-alive connections to node exports, shared by every disk and connection of the agent. A
 * request borrows an idle connection (or opens one) and gives it back when its reply is read; a
 * connection that failed is closed instead, so a broken one is never handed out twice.
 */
public final class NodePool implements AutoCloseable {

    /** Idle connections kept per export; more may be open while requests are in flight. */
    private static final int IDLE_PER_EXPORT = 16;

    private final Map<NodeExport, Queue<NodeConnection>> idle = new ConcurrentHashMap<>();
    private volatile boolean closed;

    /** The work one request does on one node connection. */
    @FunctionalInterface
    interface Call {
        int on(NodeConnection connection) throws IOException;
    }

    /** Runs {@code call} on a connection to {@code export}; returns the node's NBD error number. */
    int call(NodeExport export, Call call) throws IOException {
        Queue<NodeConnection> queue = idle.computeIfAbsent(export, unused -> new ConcurrentLinkedQueue<>());
        NodeConnection connection = queue.poll();
        if (connection == null) {
            connection = NodeConnection.open(export);
        }
        int error;
        try {
            error = call.on(connection);
        } catch (IOException | RuntimeException broken) {
            connection.close();
            throw broken;
        }
        if (closed || queue.size() >= IDLE_PER_EXPORT) {
            connection.close();
        } else {
            queue.offer(connection);
        }
        return error;
    }

    @Override
    public void close() {
        closed = true;
        idle.values().forEach(queue -> {
            for (NodeConnection connection; (connection = queue.poll()) != null; ) {
                connection.close();
            }
        });
    }
}
