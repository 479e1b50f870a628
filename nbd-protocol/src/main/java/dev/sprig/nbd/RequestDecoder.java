package dev.sprig.nbd;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Cuts the transmission byte stream into requests. A write's payload is only accumulated up to
 * {@link Nbd#MAX_PAYLOAD}; the bytes of a larger one are discarded as they arrive and the request is
 * answered with EOVERFLOW, so a client cannot make the node buffer an arbitrary amount.
 *
 * <p>A payload that has not fully arrived with its header is either gathered into a buffer of
 * exactly its size, so that a megabyte write is copied once, not regrown in the decoder's
 * cumulation (for a server that stores it and wants it in one piece), or left in the pieces it
 * arrived in, not copied at all (for a server that forwards it: see {@link #forwarding()}).
 *
 * <p>Requests are cut one at a time, and none while reading from the channel is paused (auto-read
 * off: the server's back-pressure), so that requests a client sent ahead wait here, as bytes, rather
 * than being served into replies the client is not reading. Whoever resumes reading passes this
 * decoder an empty read to go on with what it holds.
 */
public final class RequestDecoder extends ByteToMessageDecoder {

    private static final int HEADER = 28;

    private final boolean gather;
    private long discarding;
    private @Nullable NbdRequest gathering;

    /** Write payloads in one buffer each. */
    public RequestDecoder() {
        this.gather = true;
    }

    private RequestDecoder(boolean gather) {
        this.gather = gather;
        if (!gather) {
            setCumulator(COMPOSITE_CUMULATOR);
        }
    }

    /** Write payloads as they arrived, possibly in several pieces, for a server that passes them on. */
    public static RequestDecoder forwarding() {
        return new RequestDecoder(false);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (discarding > 0) {
            int skip = (int) Math.min(discarding, in.readableBytes());
            in.skipBytes(skip);
            discarding -= skip;
            if (discarding > 0) {
                return;
            }
        }
        if (gathering != null) {
            ByteBuf payload = gathering.payload();
            in.readBytes(payload, Math.min(payload.writableBytes(), in.readableBytes()));
            if (payload.isWritable()) {
                return;
            }
            out.add(gathering);
            gathering = null;
            return;
        }
        if (in.readableBytes() >= HEADER && ctx.channel().config().isAutoRead()) {
            int start = in.readerIndex();
            if (in.getInt(start) != Nbd.REQUEST_MAGIC) {
                ctx.close();
                return;
            }
            int flags = in.getUnsignedShort(start + 4);
            int type = in.getUnsignedShort(start + 6);
            long cookie = in.getLong(start + 8);
            long offset = in.getLong(start + 16);
            long length = in.getUnsignedInt(start + 24);
            if (type != Nbd.CMD_WRITE) {
                in.skipBytes(HEADER);
                out.add(new NbdRequest(flags, type, cookie, offset, length, null, 0));
                return;
            }
            if (length > Nbd.MAX_PAYLOAD) {
                in.skipBytes(HEADER);
                out.add(new NbdRequest(flags, type, cookie, offset, length, null, Nbd.EOVERFLOW));
                int skip = (int) Math.min(length, in.readableBytes());
                in.skipBytes(skip);
                discarding = length - skip;
                return;
            }
            if (!gather && in.readableBytes() < HEADER + length) {
                return; // wait for the rest in the cumulation, which does not copy
            }
            in.skipBytes(HEADER);
            if (in.readableBytes() >= length) {
                out.add(new NbdRequest(flags, type, cookie, offset, length, in.readRetainedSlice((int) length), 0));
                return;
            }
            ByteBuf payload = ctx.alloc().directBuffer((int) length, (int) length);
            payload.writeBytes(in);
            gathering = new NbdRequest(flags, type, cookie, offset, length, payload, 0);
            return;
        }
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        if (gathering != null) {
            gathering.payload().release();
            gathering = null;
        }
    }
}
