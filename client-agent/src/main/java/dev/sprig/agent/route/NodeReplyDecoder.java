package dev.sprig.agent.route;

import dev.sprig.nbd.Nbd;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.CorruptedFrameException;
import java.util.List;

/**
 * Cuts a node's transmission stream into {@link NodeReply}s: simple replies (which carry no data,
 * since structured replies are negotiated) and structured chunks. A read's data is a retained slice
 * of what arrived, not a copy.
 */
final class NodeReplyDecoder extends ByteToMessageDecoder {

    private static final int SIMPLE = 16;
    private static final int CHUNK = 20;

    NodeReplyDecoder() {
        // a read's megabyte arrives in many socket reads: gather them instead of copying them together
        setCumulator(COMPOSITE_CUMULATOR);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        while (in.readableBytes() >= 4) {
            int start = in.readerIndex();
            int magic = in.getInt(start);
            if (magic == Nbd.SIMPLE_REPLY_MAGIC) {
                if (in.readableBytes() < SIMPLE) {
                    return;
                }
                in.skipBytes(4);
                int error = in.readInt();
                long cookie = in.readLong();
                out.add(new NodeReply(cookie, true, error, 0, null, 0, false));
                continue;
            }
            if (magic != Nbd.STRUCTURED_REPLY_MAGIC) {
                throw new CorruptedFrameException("reply magic " + Integer.toHexString(magic));
            }
            if (in.readableBytes() < CHUNK) {
                return;
            }
            long length = in.getUnsignedInt(start + 16);
            if (length > Nbd.MAX_PAYLOAD + 8L) {
                throw new CorruptedFrameException("reply chunk of " + length + " bytes");
            }
            if (in.readableBytes() < CHUNK + length) {
                return;
            }
            boolean done = (in.getUnsignedShort(start + 4) & Nbd.REPLY_FLAG_DONE) != 0;
            int type = in.getUnsignedShort(start + 6);
            long cookie = in.getLong(start + 8);
            in.skipBytes(CHUNK);
            ByteBuf chunk = in.readSlice((int) length);
            out.add(
                    switch (type) {
                        case Nbd.REPLY_TYPE_NONE -> new NodeReply(cookie, done, 0, 0, null, 0, false);
                        case Nbd.REPLY_TYPE_OFFSET_DATA -> {
                            long offset = chunk.readLong();
                            yield new NodeReply(cookie, done, 0, offset, chunk.retain(), 0, false);
                        }
                        case Nbd.REPLY_TYPE_OFFSET_HOLE -> {
                            long offset = chunk.readLong();
                            yield new NodeReply(cookie, done, 0, offset, null, chunk.readInt(), false);
                        }
                        case Nbd.REPLY_TYPE_BLOCK_STATUS -> new NodeReply(cookie, done, 0, 0, chunk.retain(), 0, true);
                        case Nbd.REPLY_TYPE_ERROR, Nbd.REPLY_TYPE_ERROR_OFFSET -> {
                            int error = chunk.readInt();
                            yield new NodeReply(cookie, done, error != 0 ? error : Nbd.EIO, 0, null, 0, false);
                        }
                        default -> throw new CorruptedFrameException("reply chunk type " + type);
                    });
        }
    }
}
