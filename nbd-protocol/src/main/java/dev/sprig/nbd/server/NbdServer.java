package dev.sprig.nbd.server;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An NBD server on a TCP address or a Unix socket: every disk {@link NbdExports} can open is an
 * export. Event loops move bytes; disks are called on a bounded pool of worker threads.
 *
 * <p>A connection stops being read while its unsent replies are above {@link #HIGH_WATER_MARK}
 * (until they drain below {@link #LOW_WATER_MARK}) or its requests in flight hold too much (see
 * {@link TransmissionHandler}), so a client that does not read its replies costs a bounded amount
 * of memory and does not slow the others.
 */
public final class NbdServer implements AutoCloseable {

    /**
     * {@code workerThreads} bounds the disk calls running at once, across every client;
     * {@code eventLoops} is how many threads move the connections' bytes (0: Netty's default, two
     * per core); {@code handshakeTimeout} is how long a client may take from connecting to opening
     * an export.
     */
    public record Settings(int workerThreads, int eventLoops, Duration handshakeTimeout, String threadName) {

        public Settings {
            if (workerThreads < 1) {
                throw new IllegalArgumentException("workerThreads must be at least 1");
            }
            if (eventLoops < 0) {
                throw new IllegalArgumentException("eventLoops must be 0 (the default) or more");
            }
        }

        public static Settings of(int workerThreads, String threadName) {
            return new Settings(workerThreads, 0, Duration.ofSeconds(30), threadName);
        }

        /** These settings with {@code eventLoops} loop threads (0: Netty's default). */
        public Settings withEventLoops(int eventLoops) {
            return new Settings(workerThreads, eventLoops, handshakeTimeout, threadName);
        }
    }

    /** Unsent reply bytes above which a connection's requests are no longer read. */
    public static final int HIGH_WATER_MARK = 16 << 20;
    /** Unsent reply bytes below which reading resumes. */
    public static final int LOW_WATER_MARK = 4 << 20;

    private final EventLoopGroup boss;
    private final EventLoopGroup io;
    private final ExecutorService workers;
    private final Channel listener;
    private final ChannelGroup connections;
    private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

    private NbdServer(
            EventLoopGroup boss,
            EventLoopGroup io,
            ExecutorService workers,
            Channel listener,
            ChannelGroup connections) {
        this.boss = boss;
        this.io = io;
        this.workers = workers;
        this.listener = listener;
        this.connections = connections;
    }

    /** Binds a TCP address and starts serving; port 0 picks a free one (see {@link #port()}). */
    public static NbdServer start(NbdExports exports, String host, int port, Settings settings)
            throws InterruptedException {
        return start(exports, new InetSocketAddress(host, port), settings);
    }

    /**
     * Binds a TCP address or a Unix socket ({@code nbd+unix:///<export>?socket=PATH}, what QEMU on
     * the same host prefers); a socket file left by a server that did not stop cleanly is replaced.
     */
    public static NbdServer start(NbdExports exports, SocketAddress address, Settings settings)
            throws InterruptedException {
        if (address instanceof UnixDomainSocketAddress socket) {
            removeStaleSocket(socket);
        }
        var boss = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        var io = new MultiThreadIoEventLoopGroup(settings.eventLoops(), NioIoHandler.newFactory());
        var threads = new AtomicInteger();
        ExecutorService workers = Executors.newFixedThreadPool(settings.workerThreads(), work -> {
            var thread = new Thread(work, settings.threadName() + "-" + threads.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
        ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
        try {
            ServerBootstrap bootstrap = new ServerBootstrap().group(boss, io);
            if (address instanceof UnixDomainSocketAddress) {
                bootstrap.channel(NioServerDomainSocketChannel.class);
            } else {
                bootstrap.channel(NioServerSocketChannel.class).childOption(ChannelOption.TCP_NODELAY, true);
            }
            // a megabyte write arrives in a few large reads rather than many small ones
            bootstrap.childOption(
                    ChannelOption.RCVBUF_ALLOCATOR, new AdaptiveRecvByteBufAllocator(4096, 64 << 10, 1 << 20));
            bootstrap.childOption(
                    ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(LOW_WATER_MARK, HIGH_WATER_MARK));
            Channel listener = bootstrap
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel channel) {
                            connections.add(channel);
                            channel.pipeline()
                                    // replies finished in one pass of the event loop go out in one write
                                    .addLast("flush-consolidation", new FlushConsolidationHandler(256, true))
                                    .addLast(
                                            "nbd-handshake",
                                            new HandshakeHandler(exports, workers, settings.handshakeTimeout()));
                        }
                    })
                    .bind(address)
                    .sync()
                    .channel();
            return new NbdServer(boss, io, workers, listener, connections);
        } catch (RuntimeException | InterruptedException failure) {
            boss.shutdownGracefully();
            io.shutdownGracefully();
            workers.shutdownNow();
            throw failure;
        }
    }

    private static void removeStaleSocket(UnixDomainSocketAddress socket) {
        var path = socket.getPath();
        try {
            if (Files.exists(path) && !Files.isRegularFile(path) && !Files.isDirectory(path)) {
                Files.delete(path);
            }
        } catch (IOException unremovable) {
            throw new IllegalStateException("cannot replace " + path + ": " + unremovable.getMessage(), unremovable);
        }
    }

    /** The TCP port listened on; only for a server started on a TCP address. */
    public int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    /**
     * The bytes the server holds for its clients right now: replies not yet taken by their sockets
     * and what the requests being served hold (reads' replies to come, writes' payloads). Bounded
     * per connection, whatever a client sends (see the class comment).
     */
    public long bufferedBytes() {
        long bytes = 0;
        for (Channel connection : connections) {
            var unsent = connection.unsafe().outboundBuffer();
            if (unsent != null) {
                bytes += unsent.totalPendingWriteBytes();
            }
            TransmissionHandler transmission = connection.pipeline().get(TransmissionHandler.class);
            if (transmission != null) {
                bytes += transmission.heldBytes();
            }
        }
        return bytes;
    }

    /** Blocks until the listener closes. */
    public void awaitClose() throws InterruptedException {
        listener.closeFuture().sync();
    }

    /** Stops accepting, lets in-flight requests finish briefly, then closes every connection. Idempotent. */
    @Override
    public void close() throws InterruptedException {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
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
