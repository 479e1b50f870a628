package dev.sprig.agent.route;

import dev.sprig.nbd.client.NbdClient;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Keep-alive connections to node exports, shared by every disk and connection of the agent. A
 * request borrows an idle connection (or opens one) and gives it back when its reply is read; a
 * connection that failed is closed instead, so a broken one is never handed out twice. Connections
 * idle for longer than {@code maxIdle} are closed, so that disks no client uses any more do not hold
 * sockets on the nodes.
 */
public final class NodePool implements AutoCloseable {

    /** Idle connections kept per export; more may be open while requests are in flight. */
    private static final int IDLE_PER_EXPORT = 16;

    private record Idle(NbdClient connection, long sinceNanos) {}

    private final Map<NodeExport, ConcurrentLinkedDeque<Idle>> idle = new ConcurrentHashMap<>();
    private final long maxIdleNanos;
    private final ScheduledExecutorService reaper;
    private volatile boolean closed;

    /** The work one request does on one node connection. */
    @FunctionalInterface
    interface Call {
        int on(NbdClient connection) throws IOException;
    }

    public NodePool() {
        this(Duration.ofSeconds(60));
    }

    public NodePool(Duration maxIdle) {
        this.maxIdleNanos = maxIdle.toNanos();
        this.reaper = Executors.newSingleThreadScheduledExecutor(work -> {
            Thread thread = new Thread(work, "node-pool-reaper");
            thread.setDaemon(true);
            return thread;
        });
        long period = Math.max(1, maxIdle.toMillis() / 2);
        reaper.scheduleWithFixedDelay(this::closeIdle, period, period, TimeUnit.MILLISECONDS);
    }

    /** Runs {@code call} on a connection to {@code export}; returns the node's NBD error number. */
    int call(NodeExport export, Call call) throws IOException {
        ConcurrentLinkedDeque<Idle> queue = idle.computeIfAbsent(export, unused -> new ConcurrentLinkedDeque<>());
        // the most recently used first, so that the rest age out when load drops
        Idle reused = queue.pollFirst();
        NbdClient connection =
                reused != null ? reused.connection() : NbdClient.open(export.host(), export.port(), export.name());
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
            queue.offerFirst(new Idle(connection, System.nanoTime()));
        }
        return error;
    }

    /** Idle connections held now, across all exports. */
    int idleConnections() {
        return idle.values().stream().mapToInt(Queue::size).sum();
    }

    /** Closes the connections idle for longer than the limit (the oldest sit at the back). */
    void closeIdle() {
        long now = System.nanoTime();
        idle.values().forEach(queue -> {
            for (Idle oldest; (oldest = queue.peekLast()) != null && now - oldest.sinceNanos() >= maxIdleNanos; ) {
                if (queue.removeLastOccurrence(oldest)) {
                    oldest.connection().close();
                }
            }
        });
    }

    @Override
    public void close() {
        closed = true;
        reaper.shutdownNow();
        idle.values().forEach(queue -> {
            for (Idle entry; (entry = queue.poll()) != null; ) {
                entry.connection().close();
            }
        });
    }
}
