package dev.sprig.agent.route;

import dev.sprig.nbd.client.NbdChannel;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The agent's connections to node exports: one per export and event loop, opened on first use on
 * the loop of the client connection that needs it, so that a request and its forwarding never
 * change threads. A connection that broke is replaced at the next request; one without requests
 * for {@code maxIdle} is closed, so that disks no client uses any more do not hold sockets on the
 * nodes.
 */
public final class NodeChannels implements AutoCloseable {

    private final FastThreadLocal<Map<NodeExport, NbdChannel>> perLoop = new FastThreadLocal<>() {
        @Override
        protected Map<NodeExport, NbdChannel> initialValue() {
            return new HashMap<>();
        }
    };
    private final ChannelGroup open = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final Duration maxIdle;

    public NodeChannels() {
        this(Duration.ofSeconds(60));
    }

    public NodeChannels(Duration maxIdle) {
        this.maxIdle = maxIdle;
    }

    /** The connection to {@code export} for requests on {@code loop}; call on that loop. */
    NbdChannel on(EventLoop loop, NodeExport export) {
        Map<NodeExport, NbdChannel> channels = perLoop.get();
        NbdChannel node = channels.get(export);
        if (node == null || !node.usable()) {
            node = NbdChannel.connect(loop, export.host(), export.port(), export.name(), maxIdle);
            channels.put(export, node);
            NbdChannel opened = node;
            Channel channel = node.channel();
            open.add(channel);
            channel.closeFuture().addListener(closed -> {
                if (channels.get(export) == opened) {
                    channels.remove(export);
                }
            });
        }
        return node;
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
