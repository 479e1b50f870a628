package dev.sprig.agent.nbd;

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

/** The agent's NBD server: every disk {@link Disks} can open is an export, on a TCP address. */
public final class AgentNbdServer implements AutoCloseable {

    private final EventLoopGroup boss;
    private final EventLoopGroup io;
    private final ExecutorService workers;
    private final Channel listener;

    private AgentNbdServer(EventLoopGroup boss, EventLoopGroup io, ExecutorService workers, Channel listener) {
        this.boss = boss;
        this.io = io;
        this.workers = workers;
        this.listener = listener;
    }

    /**
     * Binds and starts serving; port 0 picks a free one (see {@link #port()}). {@code workerThreads}
     * bounds the requests forwarded to nodes at once, across every client.
     */
    public static AgentNbdServer start(Disks disks, String address, int port, int workerThreads)
            throws InterruptedException {
        var boss = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        var io = new MultiThreadIoEventLoopGroup(NioIoHandler.newFactory());
        var threads = new AtomicInteger();
        ExecutorService workers = Executors.newFixedThreadPool(workerThreads, work -> {
            var thread = new Thread(work, "agent-worker-" + threads.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        try {
            Channel listener = new ServerBootstrap()
                    .group(boss, io)
                    .channel(NioServerSocketChannel.class)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel channel) {
                            channel.pipeline().addLast("nbd-handshake", new AgentHandshakeHandler(disks, workers));
                        }
                    })
                    .bind(new InetSocketAddress(address, port))
                    .sync()
                    .channel();
            return new AgentNbdServer(boss, io, workers, listener);
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

    /** Blocks until the listener closes (for the {@code serve} command). */
    public void awaitClose() throws InterruptedException {
        listener.closeFuture().sync();
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
