package dev.sprig.agent.route;

import dev.sprig.nbd.Nbd;
import dev.sprig.nbd.server.Extents;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.util.collection.LongObjectHashMap;
import java.io.IOException;
import java.util.ArrayDeque;
import org.jspecify.annotations.Nullable;

/**
 * One connection to a node export, shared by every request of the agent's clients on one event
 * loop, with many requests in flight, matched to their replies by cookie. Everything here runs on
 * that event loop, so nothing is locked: requests made before the handshake finished wait in a
 * queue; when the connection breaks, every request in flight hears so.
 */
final class NodeChannel extends SimpleChannelInboundHandler<NodeReply> {

    private final NodeExport export;
    private final LongObjectHashMap<InFlight<?>> inFlight = new LongObjectHashMap<>();
    private final ArrayDeque<Runnable> waiting = new ArrayDeque<>();
    private @Nullable Channel channel;
    private @Nullable IOException broken;
    private long cookie;

    NodeChannel(NodeExport export) {
        this.export = export;
    }

    /** Called once the handshake succeeded or failed. */
    void opened(Channel opened) {
        this.channel = opened;
        for (Runnable request; (request = waiting.poll()) != null; ) {
            request.run();
        }
    }

    void failed(IOException failure) {
        broken = failure;
        for (Runnable request; (request = waiting.poll()) != null; ) {
            request.run();
        }
        for (InFlight<?> request : inFlight.values()) {
            request.callback.broken(failure);
            request.release();
        }
        inFlight.clear();
    }

    boolean usable() {
        return broken == null;
    }

    boolean idle() {
        return inFlight.isEmpty() && waiting.isEmpty();
    }

    void read(long offset, int length, NodeCallback<ByteBuf> callback) {
        send(new InFlight<>(Nbd.CMD_READ, offset, length, callback), 0, null);
    }

    /** Takes ownership of {@code data}. */
    void write(long offset, ByteBuf data, boolean fua, NodeCallback<Void> callback) {
        send(new InFlight<>(Nbd.CMD_WRITE, offset, data.readableBytes(), callback), fua ? Nbd.CMD_FLAG_FUA : 0, data);
    }

    void command(int type, long offset, long length, boolean fua, NodeCallback<Void> callback) {
        send(new InFlight<>(type, offset, length, callback), fua ? Nbd.CMD_FLAG_FUA : 0, null);
    }

    void allocation(long offset, long length, NodeCallback<Extents> callback) {
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
        Channel open = channel;
        if (open == null) {
            waiting.add(() -> send(request, flags, payload));
            return;
        }
        long id = ++cookie;
        inFlight.put(id, request);
        ByteBuf header = open.alloc().buffer(28);
        header.writeInt(Nbd.REQUEST_MAGIC)
                .writeShort(flags)
                .writeShort(request.type)
                .writeLong(id)
                .writeLong(request.offset)
                .writeInt((int) request.length);
        if (payload == null) {
            open.writeAndFlush(header, open.voidPromise());
        } else {
            open.write(header, open.voidPromise());
            open.writeAndFlush(payload, open.voidPromise());
        }
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, NodeReply reply) {
        InFlight<?> request = inFlight.get(reply.cookie());
        if (request == null) {
            releasePayload(reply);
            ctx.fireExceptionCaught(new IOException("a reply to no request from " + export));
            return;
        }
        request.add(reply);
        if (reply.done()) {
            inFlight.remove(reply.cookie());
            request.complete();
        }
    }

    private static void releasePayload(NodeReply reply) {
        if (reply.payload() != null) {
            reply.payload().release();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        failed(new IOException("the connection to " + export.host() + ":" + export.port() + " closed"));
        super.channelInactive(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }

    /**
     * A request waiting for its reply, which may come in several chunks: a read's data arrives in
     * one chunk from Sprig nodes, but holes and several data chunks are put together in order.
     */
    private static final class InFlight<T> {

        final int type;
        final long offset;
        final long length;
        final NodeCallback<T> callback;
        private int error;
        private @Nullable ByteBuf data;
        private @Nullable Extents extents;

        InFlight(int type, long offset, long length, NodeCallback<T> callback) {
            this.type = type;
            this.offset = offset;
            this.length = length;
            this.callback = callback;
        }

        void add(NodeReply reply) {
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
                    extents.add(Math.min(extent, length - extents.covered()), flags);
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
        private void place(NodeReply reply) {
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
                data = io.netty.buffer.Unpooled.buffer((int) length).writeZero((int) length);
            } else if (data.capacity() != length || data.refCnt() > 1) {
                ByteBuf whole = io.netty.buffer.Unpooled.buffer((int) length).writeBytes(data);
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
                ByteBuf read = data != null ? data : io.netty.buffer.Unpooled.EMPTY_BUFFER;
                data = null;
                ((NodeCallback<ByteBuf>) callback).completed(0, read);
            } else if (type == Nbd.CMD_BLOCK_STATUS) {
                ((NodeCallback<Extents>) callback).completed(extents == null ? Nbd.EIO : 0, extents);
            } else {
                callback.completed(0, null);
            }
        }

        void release() {
            if (data != null) {
                data.release();
                data = null;
            }
        }
    }
}
