package dev.sprig.agent.route;

import dev.sprig.nbd.client.NbdChannel;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The agent's connections to node exports: one per export and event loop, opened on first use on
 * the loop of the client connection that needs it, so that a request and its forwarding never
 * change threads. A connection that broke is replaced at the next request; one without requests
 * for {@code maxIdle} is closed, so that disks no client uses any more do not hold sockets on the
 * nodes; one whose oldest request has waited longer than {@code nodeTimeout} is closed, so that its
 * requests fail and go elsewhere ({@link NodeLink}).
 */
public final class NodeChannels implements AutoCloseable {

    public static final Duration NODE_TIMEOUT = Duration.ofSeconds(5);

    /**
     * How long reads pass over an export whose connection failed (refused, broke, or timed out), on
     * the loop that saw it fail. A dead member stays in its column's in-sync list until api-server
     * replaces it (through a whole rebuild), and a read-only client never has its attachment
     * refreshed by a failed write: without this, every read whose column preferred the dead member
     * opened a new connection to it first, which cost reads two thirds of their rate on two cores.
     */
    static final Duration AVOID_AFTER_FAILURE = Duration.ofSeconds(1);

    private final FastThreadLocal<Map<NodeExport, NodeLink>> perLoop = new FastThreadLocal<>() {
        @Override
        protected Map<NodeExport, NodeLink> initialValue() {
            return new HashMap<>();
        }
    };
    /** Per loop: when a connection to an export last failed (nanoTime). */
    private final FastThreadLocal<Map<NodeExport, Long>> failedAt = new FastThreadLocal<>() {
        @Override
        protected Map<NodeExport, Long> initialValue() {
            return new HashMap<>();
        }
    };

    private final ChannelGroup open = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final Duration maxIdle;
    private final long timeoutNanos;
    private final long checkNanos;

    public NodeChannels() {
        this(Duration.ofSeconds(60));
    }

    public NodeChannels(Duration maxIdle) {
        this(maxIdle, NODE_TIMEOUT);
    }

    /** @param nodeTimeout how long a node may take to answer a request before its connection is given up */
    public NodeChannels(Duration maxIdle, Duration nodeTimeout) {
        if (nodeTimeout.toMillis() < 10) {
            throw new IllegalArgumentException("a node timeout below 10 ms: " + nodeTimeout);
        }
        this.maxIdle = maxIdle;
        this.timeoutNanos = nodeTimeout.toNanos();
        // a hung node is found out within a fifth of the timeout past it
        this.checkNanos = Math.max(TimeUnit.MILLISECONDS.toNanos(5), timeoutNanos / 5);
    }

    /** The connection to {@code export} for requests on {@code loop}; call on that loop. */
    NodeLink on(EventLoop loop, NodeExport export) {
        Map<NodeExport, NodeLink> links = perLoop.get();
        NodeLink link = links.get(export);
        if (link == null || !link.usable()) {
            NbdChannel node = NbdChannel.connect(loop, export.host(), export.port(), export.name(), maxIdle);
            NodeLink opened = new NodeLink(node, timeoutNanos);
            links.put(export, opened);
            Channel channel = node.channel();
            open.add(channel);
            ScheduledFuture<?> checks =
                    loop.scheduleAtFixedRate(opened::check, checkNanos, checkNanos, TimeUnit.NANOSECONDS);
            channel.closeFuture().addListener(closed -> {
                checks.cancel(false);
                if (links.get(export) == opened) {
                    links.remove(export);
                }
            });
            link = opened;
        }
        return link;
    }

    /** A request on {@code export} failed for want of a connection; call on the request's loop. */
    void failed(NodeExport export) {
        failedAt.get().put(export, System.nanoTime());
    }

    /**
     * Whether reads on this loop should pass over {@code export} for now: a connection to it failed
     * within {@link #AVOID_AFTER_FAILURE}. Call on the loop.
     */
    boolean avoided(NodeExport export) {
        Map<NodeExport, Long> failures = failedAt.get();
        Long at = failures.get(export);
        if (at == null) {
            return false;
        }
        if (System.nanoTime() - at > AVOID_AFTER_FAILURE.toNanos()) {
            failures.remove(export);
            return false;
        }
        return true;
    }

    /** Open connections, across all loops (for tests). */
    int openConnections() {
        return open.size();
    }

    @Override
    public void close() {
        open.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
}
