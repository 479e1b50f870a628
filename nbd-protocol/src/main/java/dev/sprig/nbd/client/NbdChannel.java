package dev.sprig.nbd.client;

import dev.sprig.nbd.Nbd;
import dev.sprig.nbd.server.Extents;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.collection.LongObjectHashMap;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * One NBD connection to an export, with many requests in flight, matched to their replies by
 * cookie. Everything here runs on the connection's event loop, so nothing is locked: call the
 * request methods there (the client-agent does, from the loop of the client connection it forwards
 * for; {@link NbdClient} hops onto it). Requests made before the handshake finished wait in a queue;
 * when the connection breaks, every request in flight hears so.
 */
public final class NbdChannel extends SimpleChannelInboundHandler<Reply> {

    private final String server;
    private final String exportName;
    private final Promise<NbdChannel> ready;
    private final LongObjectHashMap<InFlight<?>> inFlight = new LongObjectHashMap<>();
    private final ArrayDeque<Runnable> waiting = new ArrayDeque<>();
    /** The connection; set by {@link #connect} before anyone else sees this object. */
    private @Nullable Channel channel;

    private @Nullable Channel open;
    private @Nullable IOException broken;
    private long cookie;
    private long sizeBytes = -1;
    private int transmissionFlags;
    private boolean baseAllocation;

    private NbdChannel(String server, String exportName, Promise<NbdChannel> ready) {
        this.server = server;
        this.exportName = exportName;
        this.ready = ready;
    }

    /**
     * Connects to {@code host:port} on {@code loop} and opens {@code exportName}; requests may be
     * made at once. With a {@code maxIdle} above zero, the connection is closed once nothing has
     * been sent or received for that long and no request is waiting.
     */
    public static NbdChannel connect(EventLoop loop, String host, int port, String exportName, Duration maxIdle) {
        NbdChannel node = new NbdChannel(host + ":" + port, exportName, loop.newPromise());
        ChannelFuture connecting = new Bootstrap()
                .group(loop)
                .channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                .option(ChannelOption.RCVBUF_ALLOCATOR, new AdaptiveRecvByteBufAllocator(4096, 64 << 10, 1 << 20))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel channel) {
                        // requests sent in one pass of the event loop go out in one write
                        channel.pipeline().addLast(new FlushConsolidationHandler(256, true));
                        if (maxIdle.toMillis() > 0) {
                            channel.pipeline()
                                    .addLast(new IdleStateHandler(0, 0, maxIdle.toMillis(), TimeUnit.MILLISECONDS));
                        }
                        channel.pipeline()
                                .addLast("nbd-handshake", new ClientHandshake(node))
                                .addLast("nbd-channel", node);
                    }
                })
                .connect(host, port);
        node.channel = connecting.channel();
        connecting.addListener(connected -> {
            if (!connected.isSuccess()) {
                node.failed(asIo(connected.cause(), node.server));
            }
        });
        return node;
    }

    /** Completes when the export is open, or fails as the connection did (an {@link IOException}). */
    public Future<NbdChannel> ready() {
        return ready;
    }

    /** The Netty channel, for closing it or keeping it in a group. */
    public Channel channel() {
        return Objects.requireNonNull(channel);
    }

    /** The export's size as the server announced it; -1 before {@link #ready()} or if it did not. */
    public long sizeBytes() {
        return sizeBytes;
    }

    /** The export's transmission flags ({@code Nbd.TFLAG_*}), known once {@link #ready()}. */
    public int transmissionFlags() {
        return transmissionFlags;
    }

    /** Whether requests may still be sent: false once the connection broke or could not open. */
    public boolean usable() {
        return broken == null;
    }

    /** Whether no request is waiting or in flight. */
    public boolean idle() {
        return inFlight.isEmpty() && waiting.isEmpty();
    }

    String server() {
        return server;
    }

    String exportName() {
        return exportName;
    }

    /** Called by the handshake once the export is open. */
    void opened(Channel opened, long size, int flags, boolean allocation) {
        this.sizeBytes = size;
        this.transmissionFlags = flags;
        this.baseAllocation = allocation;
        this.open = opened;
        for (Runnable request; (request = waiting.poll()) != null; ) {
            request.run();
        }
        ready.trySuccess(this);
    }

    /** Called when the connection could not open, or broke; the first failure is the one reported. */
    void failed(IOException failure) {
        if (broken == null) {
            broken = failure;
        }
        ready.tryFailure(failure);
        for (Runnable request; (request = waiting.poll()) != null; ) {
            request.run();
        }
        for (InFlight<?> request : inFlight.values()) {
            request.callback.broken(failure);
            request.release();
        }
        inFlight.clear();
    }

    /** The read's data, retained for the callback: one buffer, or a slice of what arrived. */
    public void read(long offset, int length, NbdCallback<ByteBuf> callback) {
        send(new InFlight<>(Nbd.CMD_READ, offset, length, callback), 0, null);
    }

    /** Takes ownership of {@code data}. */
    public void write(long offset, ByteBuf data, boolean fua, NbdCallback<Void> callback) {
        send(new InFlight<>(Nbd.CMD_WRITE, offset, data.readableBytes(), callback), fua ? Nbd.CMD_FLAG_FUA : 0, data);
    }

    /** A request without data either way: flush, trim, write zeroes. */
    public void command(int type, long offset, long length, boolean fua, NbdCallback<Void> callback) {
        send(new InFlight<>(type, offset, length, callback), fua ? Nbd.CMD_FLAG_FUA : 0, null);
    }

    /**
     * The base:allocation extents of a range, at most {@code length} bytes of them; a server that
     * offered no block status has the range reported as allocated, which the protocol allows.
     */
    public void allocation(long offset, long length, NbdCallback<Extents> callback) {
        send(new InFlight<>(Nbd.CMD_BLOCK_STATUS, offset, length, callback), 0, null);
    }

    private void send(InFlight<?> request, int flags, @Nullable ByteBuf payload) {
        if (broken != null) {
            if (payload != null) {
                payload.release();
            }
            request.callback.broken(broken);
            return;
        }
        Channel to = open;
        if (to == null) {
            waiting.add(() -> send(request, flags, payload));
            return;
        }
        if (request.type == Nbd.CMD_BLOCK_STATUS && !baseAllocation) {
            request.allAllocated();
            return;
        }
        long id = ++cookie;
        inFlight.put(id, request);
        ByteBuf header = to.alloc().buffer(28);
        header.writeInt(Nbd.REQUEST_MAGIC)
                .writeShort(flags)
                .writeShort(request.type)
                .writeLong(id)
                .writeLong(request.offset)
                .writeInt((int) request.length);
        if (payload == null) {
            to.writeAndFlush(header, to.voidPromise());
        } else {
            to.write(header, to.voidPromise());
            to.writeAndFlush(payload, to.voidPromise());
        }
    }

    /** The request a reply is for, or null (for the decoder, which must know a simple read's length). */
    @Nullable
    InFlight<?> inFlight(long replyCookie) {
        return inFlight.get(replyCookie);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, Reply reply) {
        InFlight<?> request = inFlight.get(reply.cookie());
        if (request == null) {
            releasePayload(reply);
            ctx.fireExceptionCaught(new IOException("a reply to no request from " + this));
            return;
        }
        request.add(reply);
        if (reply.done()) {
            inFlight.remove(reply.cookie());
            request.complete();
        }
    }

    private static void releasePayload(Reply reply) {
        if (reply.payload() != null) {
            reply.payload().release();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        failed(new IOException("the connection to " + server + " closed"));
        super.channelInactive(ctx);
    }

    /** Closes a connection nobody has used for a while, unless a request is still waiting. */
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
        if (event instanceof IdleStateEvent && idle()) {
            ctx.close();
        } else {
            super.userEventTriggered(ctx, event);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }

    static IOException asIo(Throwable cause, String server) {
        Throwable failure = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        return failure instanceof IOException io
                ? io
                : new IOException("cannot reach " + server + ": " + failure, failure);
    }

    /** Without the token a node's export name starts with: what goes into logs and messages. */
    @Override
    public String toString() {
        return server + "/" + ExportRefusedException.withoutCredential(exportName);
    }

    /**
     * A request waiting for its reply, which may come in several chunks: a read's data arrives in
     * one chunk from Sprig nodes, but holes and several data chunks are put together in order.
     */
    static final class InFlight<T> {

        final int type;
        final long offset;
        final long length;
        final NbdCallback<T> callback;
        private int error;
        private @Nullable ByteBuf data;
        private @Nullable Extents extents;

        InFlight(int type, long offset, long length, NbdCallback<T> callback) {
            this.type = type;
            this.offset = offset;
            this.length = length;
            this.callback = callback;
        }

        void add(Reply reply) {
            if (reply.error() != 0) {
                error = error != 0 ? error : reply.error();
                releasePayload(reply);
                return;
            }
            if (reply.status()) {
                extents = extents != null ? extents : new Extents();
                ByteBuf descriptors = reply.payload();
                descriptors.skipBytes(4); // the context id: base:allocation is the only one asked for
                while (descriptors.readableBytes() >= 8 && extents.covered() < length) {
                    long extent = descriptors.readUnsignedInt();
                    int flags = descriptors.readInt();
                    if (extent > 0) {
                        extents.add(Math.min(extent, length - extents.covered()), flags);
                    }
                }
                descriptors.release();
                return;
            }
            if (type == Nbd.CMD_READ && (reply.payload() != null || reply.holeLength() > 0)) {
                place(reply);
            } else {
                releasePayload(reply);
            }
        }

        /** A chunk covering the whole read is kept as it is; pieces are copied into one buffer. */
        private void place(Reply reply) {
            ByteBuf chunk = reply.payload();
            long at = reply.offset() - offset;
            int bytes = chunk != null ? chunk.readableBytes() : reply.holeLength();
            if (at < 0 || at + bytes > length) {
                error = Nbd.EIO;
                releasePayload(reply);
                return;
            }
            if (data == null && chunk != null && at == 0 && bytes == length) {
                data = chunk;
                return;
            }
            if (data == null) {
                data = Unpooled.buffer((int) length).writeZero((int) length);
            } else if (data.capacity() != length || data.refCnt() > 1) {
                ByteBuf whole = Unpooled.buffer((int) length).writeBytes(data);
                data.release();
                data = whole;
            }
            if (chunk != null) {
                data.setBytes((int) at, chunk);
                chunk.release();
            } else {
                data.setZero((int) at, bytes);
            }
        }

        @SuppressWarnings("unchecked")
        void complete() {
            if (error != 0) {
                release();
                callback.completed(error, null);
            } else if (type == Nbd.CMD_READ) {
                ByteBuf read = data != null ? data : Unpooled.EMPTY_BUFFER;
                data = null;
                ((NbdCallback<ByteBuf>) callback).completed(0, read);
            } else if (type == Nbd.CMD_BLOCK_STATUS) {
                ((NbdCallback<Extents>) callback).completed(extents == null ? Nbd.EIO : 0, extents);
            } else {
                callback.completed(0, null);
            }
        }

        @SuppressWarnings("unchecked")
        void allAllocated() {
            Extents all = new Extents();
            if (length > 0) {
                all.add(length, 0);
            }
            ((NbdCallback<Extents>) callback).completed(0, all);
        }

        void release() {
            if (data != null) {
                data.release();
                data = null;
            }
        }
    }
}
