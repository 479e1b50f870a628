package dev.sprig.nbd.client;

import dev.sprig.nbd.Nbd;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.CorruptedFrameException;
import java.util.List;

/**
 * Cuts the transmission stream into {@link Reply}s: simple replies and structured chunks. A read's
 * data is a retained slice of what arrived, not a copy. Only a simple reply to a read that succeeded
 * carries data, and only without structured replies; its length is the request's, which is why the
 * decoder asks the channel.
 */
final class ReplyDecoder extends ByteToMessageDecoder {

    private static final int SIMPLE = 16;
    private static final int CHUNK = 20;

    private final boolean structured;
    private final NbdChannel requests;

    ReplyDecoder(boolean structured, NbdChannel requests) {
        this.structured = structured;
        this.requests = requests;
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
                int error = in.getInt(start + 4);
                long cookie = in.getLong(start + 8);
                long readAt = -1;
                int data = 0;
                NbdChannel.InFlight<?> request = error == 0 ? requests.inFlight(cookie) : null;
                if (request != null && request.type == Nbd.CMD_READ && request.length > 0) {
                    if (structured) {
                        throw new CorruptedFrameException("a simple reply to a read, structured replies negotiated");
                    }
                    readAt = request.offset;
                    data = (int) request.length;
                }
                if (in.readableBytes() < SIMPLE + data) {
                    return;
                }
                in.skipBytes(SIMPLE);
                out.add(
                        data == 0
                                ? new Reply(cookie, true, error, 0, null, 0, false)
                                : new Reply(cookie, true, 0, readAt, in.readRetainedSlice(data), 0, false));
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
                        case Nbd.REPLY_TYPE_NONE -> new Reply(cookie, done, 0, 0, null, 0, false);
                        case Nbd.REPLY_TYPE_OFFSET_DATA -> {
                            long offset = chunk.readLong();
                            yield new Reply(cookie, done, 0, offset, chunk.retain(), 0, false);
                        }
                        case Nbd.REPLY_TYPE_OFFSET_HOLE -> {
                            long offset = chunk.readLong();
                            yield new Reply(cookie, done, 0, offset, null, chunk.readInt(), false);
                        }
                        case Nbd.REPLY_TYPE_BLOCK_STATUS -> new Reply(cookie, done, 0, 0, chunk.retain(), 0, true);
                        case Nbd.REPLY_TYPE_ERROR, Nbd.REPLY_TYPE_ERROR_OFFSET -> {
                            int error = chunk.readInt();
                            yield new Reply(cookie, done, error != 0 ? error : Nbd.EIO, 0, null, 0, false);
                        }
                        default -> throw new CorruptedFrameException("reply chunk type " + type);
                    });
        }
    }
}
