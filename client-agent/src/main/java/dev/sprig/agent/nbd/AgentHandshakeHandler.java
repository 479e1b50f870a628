package dev.sprig.agent.nbd;

import dev.sprig.nbd.Nbd;
import dev.sprig.nbd.RequestDecoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fixed-newstyle handshake facing QEMU and the NBD tools. Opening an export asks api-server for
 * the disk, which takes a round trip: that happens on a worker thread while reading from this client
 * pauses, so the event loop keeps serving everyone else. Malformed input ends the connection; an
 * unknown export or option gets its error reply and the client may go on.
 */
final class AgentHandshakeHandler extends ByteToMessageDecoder {

    private static final Logger log = LoggerFactory.getLogger(AgentHandshakeHandler.class);

    private final Disks disks;
    private final ExecutorService workers;
    private boolean clientFlagsRead;
    private boolean noZeroes;
    private boolean opening;

    AgentHandshakeHandler(Disks disks, ExecutorService workers) {
        this.disks = disks;
        this.workers = workers;
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
        while (!opening && ctx.channel().isActive() && in.readableBytes() >= 16) {
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
            handle(ctx, option, in.readSlice((int) length));
        }
    }

    private void handle(ChannelHandlerContext ctx, int option, ByteBuf data) {
        switch (option) {
            case Nbd.OPT_ABORT -> reply(ctx, option, Nbd.REP_ACK, null).addListener(ChannelFutureListener.CLOSE);
            case Nbd.OPT_LIST -> {
                if (data.isReadable()) {
                    replyError(ctx, option, Nbd.REP_ERR_INVALID, "NBD_OPT_LIST carries no data");
                } else {
                    reply(ctx, option, Nbd.REP_ACK, null); // disks are opened by extern_id, not listed
                }
            }
            case Nbd.OPT_EXPORT_NAME -> open(ctx, option, data.toString(StandardCharsets.UTF_8));
            case Nbd.OPT_INFO, Nbd.OPT_GO -> {
                String name = infoOrGoName(ctx, option, data);
                if (name != null) {
                    open(ctx, option, name);
                }
            }
            default -> replyError(ctx, option, Nbd.REP_ERR_UNSUP, "option " + option + " is not supported");
        }
    }

    private @Nullable String infoOrGoName(ChannelHandlerContext ctx, int option, ByteBuf data) {
        if (data.readableBytes() < 6) {
            replyError(ctx, option, Nbd.REP_ERR_INVALID, "option data too short");
            return null;
        }
        long nameLength = data.readUnsignedInt();
        if (nameLength > data.readableBytes() - 2) {
            replyError(ctx, option, Nbd.REP_ERR_INVALID, "export name longer than the option");
            return null;
        }
        String name =
                data.readCharSequence((int) nameLength, StandardCharsets.UTF_8).toString();
        int requests = data.readUnsignedShort();
        if (data.readableBytes() != requests * 2) {
            replyError(ctx, option, Nbd.REP_ERR_INVALID, "information requests do not match their count");
            return null;
        }
        return name;
    }

    /** Looks the disk up off the event loop, then answers on it; input waits meanwhile. */
    private void open(ChannelHandlerContext ctx, int option, String name) {
        opening = true;
        ctx.channel().config().setAutoRead(false);
        try {
            workers.execute(() -> {
                Disk disk = null;
                int error = Nbd.REP_ERR_UNKNOWN;
                String reason = "no disk " + name;
                try {
                    disk = disks.open(name);
                } catch (Exception unreachable) {
                    // api-server down or refusing: not the client's fault, and not "no such export" either
                    log.warn("export {}: {}", name, unreachable.toString());
                    error = Nbd.REP_ERR_SHUTDOWN;
                    reason = "the disk could not be opened: " + unreachable.getMessage();
                }
                Disk opened = disk;
                int refusal = error;
                String message = reason;
                ctx.executor().execute(() -> opened(ctx, option, opened, refusal, message));
            });
        } catch (RejectedExecutionException shuttingDown) {
            ctx.close();
        }
    }

    private void opened(ChannelHandlerContext ctx, int option, @Nullable Disk disk, int refusal, String reason) {
        opening = false;
        if (disk == null) {
            if (option == Nbd.OPT_EXPORT_NAME) {
                ctx.close(); // this old option has no error reply: the protocol says to close
                return;
            }
            replyError(ctx, option, refusal, reason);
            resume(ctx);
            return;
        }
        if (option == Nbd.OPT_EXPORT_NAME) {
            ByteBuf reply = ctx.alloc().buffer(134);
            reply.writeLong(disk.sizeBytes()).writeShort(TRANSMISSION_FLAGS);
            if (!noZeroes) {
                reply.writeZero(124);
            }
            ctx.writeAndFlush(reply);
            startTransmission(ctx, disk);
            return;
        }
        ByteBuf export = ctx.alloc().buffer(12);
        export.writeShort(Nbd.INFO_EXPORT).writeLong(disk.sizeBytes()).writeShort(TRANSMISSION_FLAGS);
        reply(ctx, option, Nbd.REP_INFO, export);
        // Any offset and length work; 4 KiB is what the nodes checksum, 32 MiB the most one request carries.
        ByteBuf blockSize = ctx.alloc().buffer(14);
        blockSize.writeShort(Nbd.INFO_BLOCK_SIZE).writeInt(1).writeInt(4096).writeInt(Nbd.MAX_PAYLOAD);
        reply(ctx, option, Nbd.REP_INFO, blockSize);
        reply(ctx, option, Nbd.REP_ACK, null);
        if (option == Nbd.OPT_GO) {
            startTransmission(ctx, disk);
        } else {
            resume(ctx);
        }
    }

    private static final int TRANSMISSION_FLAGS = Nbd.TFLAG_HAS_FLAGS
            | Nbd.TFLAG_SEND_FLUSH
            | Nbd.TFLAG_SEND_FUA
            | Nbd.TFLAG_SEND_TRIM
            | Nbd.TFLAG_SEND_WRITE_ZEROES
            | Nbd.TFLAG_CAN_MULTI_CONN;

    /** Goes on with options the client may already have sent, then reads again. */
    private void resume(ChannelHandlerContext ctx) {
        try {
            channelRead(ctx, Unpooled.EMPTY_BUFFER);
        } catch (Exception failure) {
            ctx.fireExceptionCaught(failure);
        }
        if (!opening) {
            ctx.channel().config().setAutoRead(true);
        }
    }

    private void startTransmission(ChannelHandlerContext ctx, Disk disk) {
        ctx.pipeline().addAfter(ctx.name(), "nbd-transmission", new AgentTransmissionHandler(disk, workers));
        // replacing the decoder hands it whatever the client sent after the option
        ctx.pipeline().replace(this, "nbd-requests", new RequestDecoder());
        ctx.channel().config().setAutoRead(true);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("handshake with {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }

    private static ChannelFuture reply(ChannelHandlerContext ctx, int option, int type, @Nullable ByteBuf data) {
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
