package dev.sprig.agent.route;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
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

    private final FastThreadLocal<Map<NodeExport, NodeChannel>> perLoop = new FastThreadLocal<>() {
        @Override
        protected Map<NodeExport, NodeChannel> initialValue() {
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
    NodeChannel on(EventLoop loop, NodeExport export) {
        Map<NodeExport, NodeChannel> channels = perLoop.get();
        NodeChannel channel = channels.get(export);
        if (channel == null || !channel.usable()) {
            channel = connect(loop, export, channels);
            channels.put(export, channel);
        }
        return channel;
    }

    private NodeChannel connect(EventLoop loop, NodeExport export, Map<NodeExport, NodeChannel> channels) {
        NodeChannel node = new NodeChannel(export);
        ChannelFuture connecting = new Bootstrap()
                .group(loop)
                .channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                .option(ChannelOption.RCVBUF_ALLOCATOR, new AdaptiveRecvByteBufAllocator(4096, 64 << 10, 1 << 20))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel channel) {
                        ChannelPromise ready = channel.newPromise();
                        ready.addListener(handshake -> {
                            if (handshake.isSuccess()) {
                                node.opened(channel);
                            } else {
                                node.failed(asIo(handshake.cause(), export));
                                channel.close();
                            }
                        });
                        channel.pipeline()
                                // requests forwarded in one pass of the event loop go out in one write
                                .addLast(new FlushConsolidationHandler(256, true))
                                .addLast(new IdleStateHandler(0, 0, maxIdle.toMillis(), TimeUnit.MILLISECONDS))
                                .addLast("node-handshake", new NodeHandshake(export, ready))
                                .addLast("node-channel", node)
                                .addLast(new CloseWhenIdle(node));
                    }
                })
                .connect(export.host(), export.port());
        Channel channel = connecting.channel();
        open.add(channel);
        connecting.addListener(connected -> {
            if (!connected.isSuccess()) {
                node.failed(asIo(connected.cause(), export));
            }
        });
        channel.closeFuture().addListener(closed -> {
            if (channels.get(export) == node) {
                channels.remove(export);
            }
        });
        return node;
    }

    private static IOException asIo(Throwable cause, NodeExport export) {
        return cause instanceof IOException io
                ? io
                : new IOException("cannot reach " + export.host() + ":" + export.port() + ": " + cause, cause);
    }

    /** Open connections, across all loops (for tests). */
    int openConnections() {
        return open.size();
    }

    @Override
    public void close() {
        open.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    /** Closes a connection that nobody has used for a while, unless a request is still waiting. */
    private static final class CloseWhenIdle extends ChannelInboundHandlerAdapter {

        private final NodeChannel node;

        CloseWhenIdle(NodeChannel node) {
            this.node = node;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
            if (event instanceof IdleStateEvent && node.idle()) {
                ctx.close();
            } else {
                super.userEventTriggered(ctx, event);
            }
        }
    }
}
