package dev.sprig.nbd.server;

import dev.sprig.nbd.Nbd;
import dev.sprig.nbd.NbdRequest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Encodes transmission replies. With structured replies negotiated a read is answered by one
 * OFFSET_DATA chunk and an error by an ERROR chunk that names the cause; without them, by simple
 * replies. Replies that carry nothing stay simple either way, which the protocol allows.
 */
final class Replies {

    /** Simple reply: magic, error, cookie. */
    static final int SIMPLE_HEADER = 16;
    /** Structured chunk: magic, flags, type, cookie, length; OFFSET_DATA adds the offset. */
    static final int CHUNK_HEADER = 20;

    static final int DATA_HEADER = CHUNK_HEADER + 8;

    private final ByteBufAllocator alloc;
    private final boolean structured;

    Replies(ByteBufAllocator alloc, boolean structured) {
        this.alloc = alloc;
        this.structured = structured;
    }

    /** A reply to be completed with {@link #readDone} once the disk has appended its bytes. */
    ByteBuf readStart(NbdRequest request) {
        int length = (int) request.length();
        if (!structured) {
            return alloc.buffer(SIMPLE_HEADER + length)
                    .writeInt(Nbd.SIMPLE_REPLY_MAGIC)
                    .writeInt(0)
                    .writeLong(request.cookie());
        }
        return chunkHeader(alloc.buffer(DATA_HEADER + length), request, Nbd.REPLY_TYPE_OFFSET_DATA, 8 + length)
                .writeLong(request.offset());
    }

    /** The header of a read's reply, for data that follows in a buffer of its own. */
    ByteBuf dataHeader(NbdRequest request) {
        int length = (int) request.length();
        if (!structured) {
            return simple(request, 0);
        }
        return chunkHeader(alloc.buffer(DATA_HEADER), request, Nbd.REPLY_TYPE_OFFSET_DATA, 8 + length)
                .writeLong(request.offset());
    }

    /** Checks that the disk appended exactly the bytes asked for. */
    ByteBuf readDone(ByteBuf reply, NbdRequest request) {
        int header = structured ? DATA_HEADER : SIMPLE_HEADER;
        if (reply.readableBytes() != header + request.length()) {
            reply.release();
            throw new IllegalStateException(
                    "the disk read " + (reply.readableBytes() - header) + " bytes, not " + request.length());
        }
        return reply;
    }

    /**
     * Success for a request of no bytes: a read of nothing gets a NONE chunk with structured
     * replies (a data chunk must carry at least one byte, and a read must not get a simple reply
     * then), a simple reply without data otherwise.
     */
    ByteBuf nothing(NbdRequest request) {
        if (structured && request.type() == Nbd.CMD_READ) {
            return chunkHeader(alloc.buffer(CHUNK_HEADER), request, Nbd.REPLY_TYPE_NONE, 0);
        }
        return simple(request, 0);
    }

    ByteBuf ok(NbdRequest request) {
        return simple(request, 0);
    }

    ByteBuf error(NbdRequest request, int error, String message) {
        if (!structured) {
            return simple(request, error);
        }
        byte[] text = message.getBytes(StandardCharsets.UTF_8);
        ByteBuf reply = alloc.buffer(CHUNK_HEADER + 6 + text.length);
        return chunkHeader(reply, request, Nbd.REPLY_TYPE_ERROR, 6 + text.length)
                .writeInt(error)
                .writeShort(text.length)
                .writeBytes(text);
    }

    /** One metadata context's extents, for {@link #blockStatus}. */
    record Described(int contextId, Extents extents) {}

    /** One BLOCK_STATUS chunk per context, the last one flagged done. */
    ByteBuf blockStatus(NbdRequest request, List<Described> contexts) {
        int size = 0;
        for (Described described : contexts) {
            size += CHUNK_HEADER + 4 + 8 * described.extents().count();
        }
        ByteBuf reply = alloc.buffer(size);
        for (int c = 0; c < contexts.size(); c++) {
            Extents extents = contexts.get(c).extents();
            int length = 4 + 8 * extents.count();
            int flags = c == contexts.size() - 1 ? Nbd.REPLY_FLAG_DONE : 0;
            chunkHeader(reply, request, flags, Nbd.REPLY_TYPE_BLOCK_STATUS, length)
                    .writeInt(contexts.get(c).contextId());
            for (int i = 0; i < extents.count(); i++) {
                reply.writeInt((int) extents.length(i)).writeInt(extents.flags(i));
            }
        }
        return reply;
    }

    private ByteBuf simple(NbdRequest request, int error) {
        return alloc.buffer(SIMPLE_HEADER)
                .writeInt(Nbd.SIMPLE_REPLY_MAGIC)
                .writeInt(error)
                .writeLong(request.cookie());
    }

    private static ByteBuf chunkHeader(ByteBuf reply, NbdRequest request, int type, int length) {
        return chunkHeader(reply, request, Nbd.REPLY_FLAG_DONE, type, length);
    }

    private static ByteBuf chunkHeader(ByteBuf reply, NbdRequest request, int flags, int type, int length) {
        return reply.writeInt(Nbd.STRUCTURED_REPLY_MAGIC)
                .writeShort(flags)
                .writeShort(type)
                .writeLong(request.cookie())
                .writeInt(length);
    }
}
