package dev.sprig.node.nbd;

import dev.sprig.node.engine.ChunkEngine;
import dev.sprig.node.http.NodeToken;
import dev.sprig.node.metrics.DataPathMetrics;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The node's NBD data port. Every lc is an export named {@code <token>/<lcId>}; frozen lcs are
 * exported read-only.
 */
public final class NbdServer implements AutoCloseable {

    private final EventLoopGroup boss;
    private final EventLoopGroup io;
    private final ExecutorService workers;
    private final Channel listener;

    private NbdServer(EventLoopGroup boss, EventLoopGroup io, ExecutorService workers, Channel listener) {
        this.boss = boss;
        this.io = io;
        this.workers = workers;
        this.listener = listener;
    }

    /** Binds and starts serving; port 0 picks a free one (see {@link #port()}). */
    public static NbdServer start(
            ChunkEngine engine, NodeToken token, DataPathMetrics metrics, String address, int port, int workerThreads)
            throws InterruptedException {
        var boss = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        var io = new MultiThreadIoEventLoopGroup(NioIoHandler.newFactory());
        var threads = new AtomicInteger();
        ExecutorService workers = Executors.newFixedThreadPool(workerThreads, work -> {
            var thread = new Thread(work, "nbd-worker-" + threads.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        var exports = new ExportNames(token);
        try {
            Channel listener = new ServerBootstrap()
                    .group(boss, io)
                    .channel(NioServerSocketChannel.class)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel channel) {
                            channel.pipeline()
                                    .addLast("nbd-handshake", new HandshakeHandler(engine, exports, workers, metrics));
                        }
                    })
                    .bind(new InetSocketAddress(address, port))
                    .sync()
                    .channel();
            return new NbdServer(boss, io, workers, listener);
        } catch (RuntimeException | InterruptedException failure) {
            boss.shutdownGracefully();
            io.shutdownGracefully();
            workers.shutdownNow();
            throw failure;
        }
    }

    public int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    /** Stops accepting, lets in-flight requests finish briefly, then closes every connection. */
    @Override
    public void close() throws InterruptedException {
        listener.close().sync();
        workers.shutdown();
        workers.awaitTermination(5, TimeUnit.SECONDS);
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).sync();
        io.shutdownGracefully(0, 2, TimeUnit.SECONDS).sync();
    }
}
