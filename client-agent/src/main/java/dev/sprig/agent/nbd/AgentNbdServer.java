package dev.sprig.agent.nbd;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** The agent's NBD server: every disk {@link Disks} can open is an export, on a TCP address or a Unix socket. */
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
     * Binds a TCP address and starts serving; port 0 picks a free one (see {@link #port()}).
     * {@code workerThreads} bounds the requests forwarded to nodes at once, across every client.
     */
    public static AgentNbdServer start(Disks disks, String address, int port, int workerThreads)
            throws InterruptedException {
        return start(disks, new InetSocketAddress(address, port), workerThreads);
    }

    /**
     * Binds a Unix socket ({@code nbd+unix:///<disk>?socket=PATH}, what QEMU on the same host
     * prefers); a file left at {@code path} by an agent that did not stop cleanly is replaced.
     */
    public static AgentNbdServer start(Disks disks, Path path, int workerThreads)
            throws InterruptedException, IOException {
        if (Files.exists(path) && !Files.isRegularFile(path) && !Files.isDirectory(path)) {
            Files.delete(path);
        }
        return start(disks, UnixDomainSocketAddress.of(path), workerThreads);
    }

    private static AgentNbdServer start(Disks disks, SocketAddress address, int workerThreads)
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
            ServerBootstrap bootstrap = new ServerBootstrap().group(boss, io);
            if (address instanceof UnixDomainSocketAddress) {
                bootstrap.channel(NioServerDomainSocketChannel.class);
            } else {
                bootstrap.channel(NioServerSocketChannel.class).childOption(ChannelOption.TCP_NODELAY, true);
            }
            Channel listener = bootstrap
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel channel) {
                            channel.pipeline().addLast("nbd-handshake", new AgentHandshakeHandler(disks, workers));
                        }
                    })
                    .bind(address)
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

    /** The TCP port listened on; only for a server started on a TCP address. */
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
        if (listener.localAddress() instanceof UnixDomainSocketAddress socket) {
            try {
                Files.deleteIfExists(socket.getPath());
            } catch (IOException leftBehind) {
                // the next start replaces it
            }
        }
        workers.shutdown();
        workers.awaitTermination(5, TimeUnit.SECONDS);
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).sync();
        io.shutdownGracefully(0, 2, TimeUnit.SECONDS).sync();
    }
}
