package dev.sprig.nbd.server;

import dev.sprig.nbd.Nbd;
import dev.sprig.nbd.RequestDecoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fixed-newstyle handshake. Opening or listing exports may take a round trip (the agent asks
 * api-server), so it happens on a worker thread while reading from this client pauses and the
 * event loop keeps serving everyone else. Malformed input, or a handshake not finished in time,
 * ends the connection; an unknown export or option gets its error reply and the client may go on.
 */
final class HandshakeHandler extends ByteToMessageDecoder {

    private static final Logger log = LoggerFactory.getLogger(HandshakeHandler.class);

    private static final int TRANSMISSION_FLAGS = Nbd.TFLAG_HAS_FLAGS
            | Nbd.TFLAG_SEND_FLUSH
            | Nbd.TFLAG_SEND_FUA
            | Nbd.TFLAG_SEND_TRIM
            | Nbd.TFLAG_SEND_WRITE_ZEROES
            | Nbd.TFLAG_CAN_MULTI_CONN;

    private final NbdExports exports;
    private final ExecutorService workers;
    private final Duration timeout;
    private @Nullable ScheduledFuture<?> deadline;
    private boolean clientFlagsRead;
    private boolean noZeroes;
    private boolean structuredReplies;
    private boolean baseAllocation;
    private boolean allocationDepth;
    private boolean waiting;

    HandshakeHandler(NbdExports exports, ExecutorService workers, Duration timeout) {
        this.exports = exports;
        this.workers = workers;
        this.timeout = timeout;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        ByteBuf greeting = ctx.alloc().buffer(18);
        greeting.writeLong(Nbd.NBDMAGIC)
                .writeLong(Nbd.IHAVEOPT)
                .writeShort(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES);
        ctx.writeAndFlush(greeting);
        // a client that connects and never finishes must not hold a connection forever
        deadline = ctx.executor().schedule(() -> timedOut(ctx), timeout.toMillis(), TimeUnit.MILLISECONDS);
        super.channelActive(ctx);
    }

    private void timedOut(ChannelHandlerContext ctx) {
        log.debug("handshake with {} took longer than {}", ctx.channel().remoteAddress(), timeout);
        ctx.close();
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
        while (!waiting && ctx.channel().isActive() && in.readableBytes() >= 16) {
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
                    list(ctx);
                }
            }
            case Nbd.OPT_STRUCTURED_REPLY -> {
                if (data.isReadable()) {
                    replyError(ctx, option, Nbd.REP_ERR_INVALID, "NBD_OPT_STRUCTURED_REPLY carries no data");
                } else {
                    structuredReplies = true;
                    reply(ctx, option, Nbd.REP_ACK, null);
                }
            }
            case Nbd.OPT_LIST_META_CONTEXT, Nbd.OPT_SET_META_CONTEXT -> metaContext(ctx, option, data);
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
        String name = string(data, 2);
        if (name == null) {
            replyError(ctx, option, Nbd.REP_ERR_INVALID, "export name longer than the option");
            return null;
        }
        int requests = data.readUnsignedShort();
        if (data.readableBytes() != requests * 2) {
            replyError(ctx, option, Nbd.REP_ERR_INVALID, "information requests do not match their count");
            return null;
        }
        return name;
    }

    /**
     * The contexts are base:allocation and, when the exports serve it, qemu:allocation-depth. LIST
     * names a context for no query, a query of its namespace ("base:", "qemu:") or of its name; SET
     * selects those a query names exactly (replacing an earlier selection), and nothing else.
     */
    private void metaContext(ChannelHandlerContext ctx, int option, ByteBuf data) {
        if (!structuredReplies) {
            replyError(ctx, option, Nbd.REP_ERR_INVALID, "metadata contexts need structured replies first");
            return;
        }
        String export = data.readableBytes() >= 8 ? string(data, 4) : null;
        if (export == null) {
            replyError(ctx, option, Nbd.REP_ERR_INVALID, "malformed metadata context option");
            return;
        }
        long queries = data.readUnsignedInt();
        List<String> names = new ArrayList<>();
        for (long q = 0; q < queries; q++) {
            String query = data.readableBytes() >= 4 ? string(data, 0) : null;
            if (query == null) {
                replyError(ctx, option, Nbd.REP_ERR_INVALID, "malformed metadata context query");
                return;
            }
            names.add(query);
        }
        if (data.isReadable()) {
            replyError(ctx, option, Nbd.REP_ERR_INVALID, "metadata context option longer than its queries");
            return;
        }
        boolean set = option == Nbd.OPT_SET_META_CONTEXT;
        boolean base = offer(ctx, option, names, Nbd.BASE_ALLOCATION, Nbd.BASE_ALLOCATION_ID);
        boolean depth = exports.servesAllocationDepth()
                && offer(ctx, option, names, Nbd.ALLOCATION_DEPTH, Nbd.ALLOCATION_DEPTH_ID);
        if (set) {
            baseAllocation = base;
            allocationDepth = depth;
        }
        reply(ctx, option, Nbd.REP_ACK, null);
    }

    /** Names {@code context} in a META_CONTEXT reply if the queries ask for it; returns whether. */
    private static boolean offer(ChannelHandlerContext ctx, int option, List<String> queries, String context, int id) {
        boolean set = option == Nbd.OPT_SET_META_CONTEXT;
        String namespace = context.substring(0, context.indexOf(':') + 1);
        boolean asked = set
                ? queries.contains(context)
                : queries.isEmpty() || queries.contains(namespace) || queries.contains(context);
        if (asked) {
            byte[] name = context.getBytes(StandardCharsets.US_ASCII);
            ByteBuf reply = ctx.alloc().buffer(4 + name.length);
            reply.writeInt(set ? id : 0).writeBytes(name);
            reply(ctx, option, Nbd.REP_META_CONTEXT, reply);
        }
        return asked;
    }

    /** A string of a u32 length and its bytes, leaving {@code after} bytes; null if it does not fit. */
    private static @Nullable String string(ByteBuf data, int after) {
        long length = data.readUnsignedInt();
        if (length > data.readableBytes() - after) {
            return null;
        }
        return data.readCharSequence((int) length, StandardCharsets.UTF_8).toString();
    }

    /** Runs {@code lookup} off the event loop, then {@code answer} on it; input waits meanwhile. */
    private <T> void offLoop(ChannelHandlerContext ctx, Lookup<T> lookup, Answer<T> answer) {
        waiting = true;
        ctx.channel().config().setAutoRead(false);
        try {
            workers.execute(() -> {
                T result = null;
                Exception failure = null;
                try {
                    result = lookup.run();
                } catch (Exception e) {
                    failure = e;
                }
                T found = result;
                Exception failed = failure;
                try {
                    ctx.executor().execute(() -> {
                        waiting = false;
                        if (ctx.channel().isActive()) {
                            answer.with(found, failed);
                        } else {
                            releaseUnused(found); // the client hung up while its export was opened
                        }
                    });
                } catch (RejectedExecutionException closing) {
                    releaseUnused(found);
                }
            });
        } catch (RejectedExecutionException shuttingDown) {
            ctx.close();
        }
    }

    /** An export opened for a connection that is gone: nothing will use it, and it must hear so. */
    private static void releaseUnused(@Nullable Object opened) {
        if (opened instanceof NbdExport export) {
            TransmissionHandler.release(export);
        }
    }

    @FunctionalInterface
    private interface Lookup<T> {
        @Nullable
        T run() throws Exception;
    }

    @FunctionalInterface
    private interface Answer<T> {
        void with(@Nullable T result, @Nullable Exception failure);
    }

    private void list(ChannelHandlerContext ctx) {
        offLoop(ctx, exports::list, (names, failure) -> {
            if (failure != null) {
                log.warn("listing exports failed: {}", failure.toString());
                replyError(
                        ctx,
                        Nbd.OPT_LIST,
                        Nbd.REP_ERR_SHUTDOWN,
                        "exports could not be listed: " + failure.getMessage());
            } else if (names == null) {
                replyError(ctx, Nbd.OPT_LIST, Nbd.REP_ERR_POLICY, "exports are not listed; open one by name");
            } else {
                for (String name : names) {
                    byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
                    ByteBuf server = ctx.alloc().buffer(4 + bytes.length);
                    server.writeInt(bytes.length).writeBytes(bytes);
                    reply(ctx, Nbd.OPT_LIST, Nbd.REP_SERVER, server);
                }
                reply(ctx, Nbd.OPT_LIST, Nbd.REP_ACK, null);
            }
            resume(ctx);
        });
    }

    private void open(ChannelHandlerContext ctx, int option, String name) {
        offLoop(ctx, () -> exports.open(name), (disk, failure) -> {
            if (disk == null) {
                refuse(ctx, option, name, failure);
            } else {
                opened(ctx, option, disk);
            }
        });
    }

    private void refuse(ChannelHandlerContext ctx, int option, String name, @Nullable Exception failure) {
        if (option == Nbd.OPT_EXPORT_NAME) {
            ctx.close(); // this old option has no error reply: the protocol says to close
            return;
        }
        if (failure == null) {
            // not the name: it can carry a credential, and a client may log what it is told
            replyError(ctx, option, Nbd.REP_ERR_UNKNOWN, "no such export");
        } else {
            // the exports' source is down or refusing: not the client's fault, nor "no such export".
            // Not the name: it carries the client's credential (a node's data token), and tokens
            // never go to logs.
            log.warn("opening an export failed: {}", failure.toString());
            replyError(ctx, option, Nbd.REP_ERR_SHUTDOWN, "the export could not be opened: " + failure.getMessage());
        }
        resume(ctx);
    }

    private void opened(ChannelHandlerContext ctx, int option, NbdExport disk) {
        int flags = disk.readOnly() ? TRANSMISSION_FLAGS | Nbd.TFLAG_READ_ONLY : TRANSMISSION_FLAGS;
        if (option == Nbd.OPT_EXPORT_NAME) {
            ByteBuf reply = ctx.alloc().buffer(134);
            reply.writeLong(disk.sizeBytes()).writeShort(flags);
            if (!noZeroes) {
                reply.writeZero(124);
            }
            ctx.writeAndFlush(reply);
            startTransmission(ctx, disk);
            return;
        }
        ByteBuf export = ctx.alloc().buffer(12);
        export.writeShort(Nbd.INFO_EXPORT).writeLong(disk.sizeBytes()).writeShort(flags);
        reply(ctx, option, Nbd.REP_INFO, export);
        // Any offset and length work; 4 KiB is what the engine checksums, 32 MiB the most one request carries.
        ByteBuf blockSize = ctx.alloc().buffer(14);
        blockSize.writeShort(Nbd.INFO_BLOCK_SIZE).writeInt(1).writeInt(4096).writeInt(Nbd.MAX_PAYLOAD);
        reply(ctx, option, Nbd.REP_INFO, blockSize);
        reply(ctx, option, Nbd.REP_ACK, null);
        if (option == Nbd.OPT_GO) {
            startTransmission(ctx, disk);
        } else {
            TransmissionHandler.release(disk);
            resume(ctx);
        }
    }

    /** Goes on with options the client may already have sent, then reads again. */
    private void resume(ChannelHandlerContext ctx) {
        try {
            channelRead(ctx, Unpooled.EMPTY_BUFFER);
        } catch (Exception failure) {
            ctx.fireExceptionCaught(failure);
        }
        if (!waiting) {
            ctx.channel().config().setAutoRead(true);
        }
    }

    private void startTransmission(ChannelHandlerContext ctx, NbdExport disk) {
        if (deadline != null) {
            deadline.cancel(false);
        }
        var negotiated = new Negotiated(structuredReplies, baseAllocation, allocationDepth);
        ctx.pipeline().addAfter(ctx.name(), "nbd-transmission", new TransmissionHandler(disk, negotiated, workers));
        // replacing the decoder hands it whatever the client sent after the option
        ctx.pipeline()
                .replace(
                        this,
                        "nbd-requests",
                        disk instanceof AsyncNbdDisk ? RequestDecoder.forwarding() : new RequestDecoder());
        ctx.channel().config().setAutoRead(true);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (deadline != null) {
            deadline.cancel(false);
        }
        super.channelInactive(ctx);
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
