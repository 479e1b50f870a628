package dev.sprig.node.nbd;

import dev.sprig.nbd.Nbd;
import dev.sprig.nbd.RequestDecoder;
import dev.sprig.node.engine.ChunkEngine;
import dev.sprig.node.engine.LcInfo;
import dev.sprig.node.engine.UnknownLcException;
import dev.sprig.node.metrics.DataPathMetrics;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.ExecutorService;
import org.jspecify.annotations.Nullable;

/**
 * The fixed-newstyle handshake: greeting, client flags, then options until NBD_OPT_GO (or the old
 * NBD_OPT_EXPORT_NAME) opens an export, at which point this handler hands the connection to
 * transmission. Malformed input ends the connection; an unknown option gets NBD_REP_ERR_UNSUP and
 * the client may go on.
 */
final class HandshakeHandler extends ByteToMessageDecoder {

    private final ChunkEngine engine;
    private final ExportNames exports;
    private final ExecutorService workers;
    private final DataPathMetrics metrics;
    private boolean clientFlagsRead;
    private boolean noZeroes;

    HandshakeHandler(ChunkEngine engine, ExportNames exports, ExecutorService workers, DataPathMetrics metrics) {
        this.engine = engine;
        this.exports = exports;
        this.workers = workers;
        this.metrics = metrics;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        ByteBuf greeting = ctx.alloc().buffer(18);
        greeting.writeLong(Nbd.NBDMAGIC)
                .writeLong(Nbd.IHAVEOPT)
                .writeShort(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES);
        ctx.writeAndFlush(greeting);
        super.channelActive(ctx);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (!clientFlagsRead) {
            if (in.readableBytes() < 4) {
                return;
            }
            int flags = in.readInt();
            if ((flags & Nbd.FLAG_C_FIXED_NEWSTYLE) == 0
                    || (flags & ~(Nbd.FLAG_C_FIXED_NEWSTYLE | Nbd.FLAG_C_NO_ZEROES)) != 0) {
                ctx.close();
                return;
            }
            noZeroes = (flags & Nbd.FLAG_C_NO_ZEROES) != 0;
            clientFlagsRead = true;
        }
        while (ctx.channel().isActive() && in.readableBytes() >= 16) {
            long magic = in.getLong(in.readerIndex());
            int option = in.getInt(in.readerIndex() + 8);
            long length = in.getUnsignedInt(in.readerIndex() + 12);
            if (magic != Nbd.IHAVEOPT || length > Nbd.MAX_OPTION_LENGTH) {
                ctx.close();
                return;
            }
            if (in.readableBytes() < 16 + length) {
                return;
            }
            in.skipBytes(16);
            ByteBuf data = in.readSlice((int) length);
            if (handle(ctx, option, data)) {
                return;
            }
        }
    }

    /** Returns true when the connection has left the option phase (transmission or closed). */
    private boolean handle(ChannelHandlerContext ctx, int option, ByteBuf data) {
        switch (option) {
            case Nbd.OPT_ABORT -> {
                reply(ctx, option, Nbd.REP_ACK, null).addListener(ChannelFutureListener.CLOSE);
                return true;
            }
            case Nbd.OPT_LIST -> {
                replyError(ctx, option, Nbd.REP_ERR_POLICY, "exports are not listed; open one by name");
                return false;
            }
            case Nbd.OPT_EXPORT_NAME -> {
                OptionalLong lc = exports.lcOf(data.toString(StandardCharsets.UTF_8));
                LcInfo info = lc.isPresent() ? find(lc.getAsLong()) : null;
                if (info == null) {
                    // This old option has no error reply: the protocol says to close.
                    ctx.close();
                    return true;
                }
                ByteBuf reply = ctx.alloc().buffer(134);
                reply.writeLong(info.sizeBytes()).writeShort(transmissionFlags(info));
                if (!noZeroes) {
                    reply.writeZero(124);
                }
                ctx.writeAndFlush(reply);
                startTransmission(ctx, info);
                return true;
            }
            case Nbd.OPT_INFO, Nbd.OPT_GO -> {
                return infoOrGo(ctx, option, data);
            }
            default -> {
                replyError(ctx, option, Nbd.REP_ERR_UNSUP, "option " + option + " is not supported");
                return false;
            }
        }
    }

    private boolean infoOrGo(ChannelHandlerContext ctx, int option, ByteBuf data) {
        if (data.readableBytes() < 6) {
            replyError(ctx, option, Nbd.REP_ERR_INVALID, "option data too short");
            return false;
        }
        long nameLength = data.readUnsignedInt();
        if (nameLength > data.readableBytes() - 2) {
            replyError(ctx, option, Nbd.REP_ERR_INVALID, "export name longer than the option");
            return false;
        }
        String name =
                data.readCharSequence((int) nameLength, StandardCharsets.UTF_8).toString();
        int requests = data.readUnsignedShort();
        if (data.readableBytes() != requests * 2) {
            replyError(ctx, option, Nbd.REP_ERR_INVALID, "information requests do not match their count");
            return false;
        }
        OptionalLong lc = exports.lcOf(name);
        LcInfo info = lc.isPresent() ? find(lc.getAsLong()) : null;
        if (info == null) {
            replyError(ctx, option, Nbd.REP_ERR_UNKNOWN, "no such export");
            return false;
        }
        ByteBuf export = ctx.alloc().buffer(12);
        export.writeShort(Nbd.INFO_EXPORT).writeLong(info.sizeBytes()).writeShort(transmissionFlags(info));
        reply(ctx, option, Nbd.REP_INFO, export);
        // Any offset and length work; 4 KiB is what the engine checksums, 32 MiB the most one request carries.
        ByteBuf blockSize = ctx.alloc().buffer(14);
        blockSize.writeShort(Nbd.INFO_BLOCK_SIZE).writeInt(1).writeInt(4096).writeInt(Nbd.MAX_PAYLOAD);
        reply(ctx, option, Nbd.REP_INFO, blockSize);
        reply(ctx, option, Nbd.REP_ACK, null);
        if (option == Nbd.OPT_GO) {
            startTransmission(ctx, info);
            return true;
        }
        return false;
    }

    private void startTransmission(ChannelHandlerContext ctx, LcInfo info) {
        ctx.pipeline()
                .addAfter(
                        ctx.name(), "nbd-transmission", new TransmissionHandler(engine, info.lcId(), workers, metrics));
        ctx.pipeline().replace(this, "nbd-requests", new RequestDecoder());
    }

    private static int transmissionFlags(LcInfo info) {
        int flags = Nbd.TFLAG_HAS_FLAGS
                | Nbd.TFLAG_SEND_FLUSH
                | Nbd.TFLAG_SEND_FUA
                | Nbd.TFLAG_SEND_TRIM
                | Nbd.TFLAG_SEND_WRITE_ZEROES
                | Nbd.TFLAG_CAN_MULTI_CONN;
        return info.frozen() ? flags | Nbd.TFLAG_READ_ONLY : flags;
    }

    private @Nullable LcInfo find(long lcId) {
        try {
            return engine.info(lcId);
        } catch (UnknownLcException absent) {
            return null;
        }
    }

    private static io.netty.channel.ChannelFuture reply(
            ChannelHandlerContext ctx, int option, int type, @Nullable ByteBuf data) {
        int length = data == null ? 0 : data.readableBytes();
        ByteBuf header = ctx.alloc().buffer(20);
        header.writeLong(Nbd.OPTION_REPLY_MAGIC).writeInt(option).writeInt(type).writeInt(length);
        if (data == null) {
            return ctx.writeAndFlush(header);
        }
        ctx.write(header);
        return ctx.writeAndFlush(data);
    }

    private static void replyError(ChannelHandlerContext ctx, int option, int type, String message) {
        ByteBuf text = ctx.alloc().buffer();
        text.writeCharSequence(message, StandardCharsets.UTF_8);
        reply(ctx, option, type, text);
    }
}
