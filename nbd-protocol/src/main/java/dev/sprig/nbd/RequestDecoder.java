package dev.sprig.nbd;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Cuts the transmission byte stream into requests. A write's payload is only accumulated up to
 * {@link Nbd#MAX_PAYLOAD}; the bytes of a larger one are discarded as they arrive and the request is
 * answered with EOVERFLOW, so a client cannot make the node buffer an arbitrary amount.
 */
public final class RequestDecoder extends ByteToMessageDecoder {

    private static final int HEADER = 28;

    private long discarding;

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
        while (in.readableBytes() >= HEADER) {
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
                continue;
            }
            if (length > Nbd.MAX_PAYLOAD) {
                in.skipBytes(HEADER);
                out.add(new NbdRequest(flags, type, cookie, offset, length, null, Nbd.EOVERFLOW));
                int skip = (int) Math.min(length, in.readableBytes());
                in.skipBytes(skip);
                discarding = length - skip;
                return;
            }
            if (in.readableBytes() < HEADER + length) {
                return;
            }
            in.skipBytes(HEADER);
            out.add(new NbdRequest(flags, type, cookie, offset, length, in.readRetainedSlice((int) length), 0));
        }
    }
}
