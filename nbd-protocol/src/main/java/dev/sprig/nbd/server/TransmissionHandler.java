package dev.sprig.nbd.server;

import dev.sprig.nbd.Nbd;
import dev.sprig.nbd.NbdRequest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelConfig;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one connection's requests on the worker pool (disks block, the event loop must not) and
 * answers each as soon as it is done, so replies come out of order, as the protocol allows. Small
 * reads, and small writes without FUA, are done on the event loop when the disk asks for it: they come
 * from and go to the page cache, and the two thread hand-offs would cost more than the I/O.
 * Requests the disk must not see (outside it, too large, a write to a read-only disk, block status
 * without a negotiated context) are refused here, and requests of no bytes answered here.
 *
 * <p>Back-pressure: reading from the socket pauses while the connection is not writable (its unsent
 * replies passed the high water mark {@link NbdServer} sets), while too many requests are in
 * flight, or while those requests hold too many bytes (the replies reads will produce, the payloads
 * of writes). The {@link RequestDecoder} then leaves requests that already arrived in its buffer, so
 * a client that sends reads and never reads the replies makes the server hold a bounded amount per
 * connection. The counts live on the event loop: every answer, from a worker or an asynchronous
 * disk, is accounted there once its reply is in the channel's outbound buffer, where the water
 * marks count it from then on.
 */
final class TransmissionHandler extends SimpleChannelInboundHandler<NbdRequest> {

    private static final Logger log = LoggerFactory.getLogger(TransmissionHandler.class);
    private static final int PAUSE_ABOVE = 128;
    private static final int RESUME_BELOW = 32;
    /** Bytes the requests in flight may hold before reading pauses: a few large reads' worth. */
    static final long PAUSE_BYTES = 64L << 20;

    private static final long RESUME_BYTES = PAUSE_BYTES / 2;
    /** The largest read a disk may ask to have done on the event loop. */
    static final int INLINE_READ = 64 << 10;
    /** The largest write a disk may ask to have done on the event loop. */
    static final int INLINE_WRITE = 64 << 10;

    private final NbdExport disk;
    private final Negotiated negotiated;
    private final ExecutorService workers;
    private int inFlight;
    /** Written on the event loop; read by {@link NbdServer#bufferedBytes()} from anywhere. */
    private volatile long heldBytes;

    private boolean disconnecting;
    private boolean released;
    private Replies replies;

    TransmissionHandler(NbdExport disk, Negotiated negotiated, ExecutorService workers) {
        this.disk = disk;
        this.negotiated = negotiated;
        this.workers = workers;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        replies = new Replies(ctx.alloc(), negotiated.structuredReplies());
        if (!ctx.channel().isActive()) {
            // the client hung up while its export was being opened: no channelInactive will come
            releaseOnce();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        releaseOnce();
        super.channelInactive(ctx);
    }

    private void releaseOnce() {
        if (!released) {
            released = true;
            release(disk);
        }
    }

    /** Tells the export its connection is done with it; its failure is logged, never the connection's. */
    static void release(NbdExport disk) {
        try {
            disk.release();
        } catch (RuntimeException failure) {
            log.warn("releasing an export failed: {}", failure.toString());
        }
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, NbdRequest request) {
        if (request.type() == Nbd.CMD_DISC) {
            disconnecting = true;
            closeWhenIdle(ctx);
            return;
        }
        if (disconnecting) {
            release(request);
            return;
        }
        inFlight++;
        heldBytes += held(request);
        flowControl(ctx);
        if (disk instanceof AsyncNbdDisk async) {
            serve(ctx, async, request);
            return;
        }
        NbdDisk blocking = (NbdDisk) disk;
        if ((request.type() == Nbd.CMD_READ
                        && request.length() <= INLINE_READ
                        && blocking.readsInline((int) request.length()))
                || (request.type() == Nbd.CMD_WRITE
                        && (request.flags() & Nbd.CMD_FLAG_FUA) == 0
                        && request.length() <= INLINE_WRITE
                        && blocking.writesInline(request.offset(), (int) request.length()))) {
            reply(ctx, request, perform(blocking, request));
            return;
        }
        try {
            workers.execute(() -> {
                ByteBuf reply = perform(blocking, request);
                onLoop(ctx, request, () -> reply(ctx, request, reply), reply);
            });
        } catch (RejectedExecutionException shuttingDown) {
            release(request);
            reply(ctx, request, replies.error(request, Nbd.ESHUTDOWN, "the server is shutting down"));
        }
    }

    /**
     * What a request holds until its reply is handed to the channel: a write its payload, a read its
     * reply's data; one too large for either was refused by the decoder or is refused here.
     */
    private static long held(NbdRequest request) {
        boolean carries = request.type() == Nbd.CMD_READ || request.type() == Nbd.CMD_WRITE;
        return carries && request.refusal() == 0 && request.length() <= Nbd.MAX_PAYLOAD ? request.length() : 0;
    }

    /** On the event loop: hands the reply to the channel, then forgets the request. */
    private void reply(ChannelHandlerContext ctx, NbdRequest request, ByteBuf reply) {
        ctx.writeAndFlush(reply);
        answered(ctx, request);
    }

    /** Runs {@code task} on the connection's event loop; if that loop is gone, releases {@code reply}. */
    private static void onLoop(ChannelHandlerContext ctx, NbdRequest request, Runnable task, @Nullable ByteBuf reply) {
        if (ctx.executor().inEventLoop()) {
            task.run();
            return;
        }
        try {
            ctx.executor().execute(task);
        } catch (RejectedExecutionException closed) {
            log.debug("{} at {} answered after its connection closed", request.type(), request.offset());
            if (reply != null) {
                reply.release();
            }
        }
    }

    private void answered(ChannelHandlerContext ctx, NbdRequest request) {
        inFlight--;
        heldBytes -= held(request);
        flowControl(ctx);
        closeWhenIdle(ctx);
    }

    /** The bytes this connection holds for requests it has not answered yet. */
    long heldBytes() {
        return heldBytes;
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        flowControl(ctx);
        ctx.fireChannelWritabilityChanged();
    }

    /** Pauses or resumes reading from the socket; see the class comment. */
    private void flowControl(ChannelHandlerContext ctx) {
        ChannelConfig config = ctx.channel().config();
        boolean writable = ctx.channel().isWritable();
        if (config.isAutoRead()) {
            if (!writable || inFlight >= PAUSE_ABOVE || heldBytes >= PAUSE_BYTES) {
                config.setAutoRead(false);
            }
        } else if (writable && inFlight < RESUME_BELOW && heldBytes < RESUME_BYTES) {
            config.setAutoRead(true);
            // Requests the decoder held back have arrived already: no socket read would bring them
            // to it. Later, not now, since this may run inside the decoder's own loop.
            ctx.executor().execute(() -> {
                if (ctx.channel().isActive()) {
                    ctx.pipeline().fireChannelRead(Unpooled.EMPTY_BUFFER).fireChannelReadComplete();
                }
            });
        }
    }

    /** On the event loop: the disk answers later, through the {@link AsyncNbdDisk.Answer}. */
    private void serve(ChannelHandlerContext ctx, AsyncNbdDisk async, NbdRequest request) {
        Refusal refusal = refusal(request);
        if (refusal != null) {
            release(request);
            reply(ctx, request, replies.error(request, refusal.error(), refusal.message()));
            return;
        }
        if (ofNoBytes(request)) {
            release(request);
            reply(ctx, request, replies.nothing(request));
            return;
        }
        try {
            async.serve(request, ctx.channel().eventLoop(), new Answer(ctx, request));
        } catch (RuntimeException unexpected) {
            log.error("{} at {} failed", request.type(), request.offset(), unexpected);
            release(request);
            reply(ctx, request, replies.error(request, Nbd.EIO, "internal error"));
        }
    }

    /**
     * Answers one request once, on the event loop even when the disk answers from another thread; a
     * second answer is a bug in the disk and is dropped.
     */
    private final class Answer implements AsyncNbdDisk.Answer {

        private final ChannelHandlerContext ctx;
        private final NbdRequest request;
        private boolean given;

        Answer(ChannelHandlerContext ctx, NbdRequest request) {
            this.ctx = ctx;
            this.request = request;
        }

        private boolean first() {
            if (given) {
                log.error("{} at {} was answered twice", request.type(), request.offset());
                return false;
            }
            given = true;
            return true;
        }

        @Override
        public void ok() {
            onLoop(
                    ctx,
                    request,
                    () -> {
                        if (first()) {
                            reply(ctx, request, replies.ok(request));
                        }
                    },
                    null);
        }

        @Override
        public void data(ByteBuf bytes) {
            onLoop(
                    ctx,
                    request,
                    () -> {
                        if (!first()) {
                            bytes.release();
                            return;
                        }
                        if (bytes.readableBytes() != request.length()) {
                            log.error("{} bytes answered a read of {}", bytes.readableBytes(), request.length());
                            bytes.release();
                            reply(ctx, request, replies.error(request, Nbd.EIO, "internal error"));
                            return;
                        }
                        ctx.write(replies.dataHeader(request));
                        reply(ctx, request, bytes);
                    },
                    bytes);
        }

        @Override
        public void extents(Extents extents) {
            onLoop(
                    ctx,
                    request,
                    () -> {
                        if (first()) {
                            reply(ctx, request, blockStatusReply(request, extents));
                        }
                    },
                    null);
        }

        @Override
        public void error(int error, String message) {
            onLoop(
                    ctx,
                    request,
                    () -> {
                        if (first()) {
                            reply(ctx, request, replies.error(request, error, message));
                        }
                    },
                    null);
        }
    }

    private ByteBuf perform(NbdDisk disk, NbdRequest request) {
        try {
            Refusal refusal = refusal(request);
            if (refusal != null) {
                return replies.error(request, refusal.error(), refusal.message());
            }
            if (ofNoBytes(request)) {
                return replies.nothing(request);
            }
            if (request.type() == Nbd.CMD_READ) {
                return read(disk, request);
            }
            if (request.type() == Nbd.CMD_BLOCK_STATUS) {
                return blockStatus(disk, request);
            }
            boolean fua = (request.flags() & Nbd.CMD_FLAG_FUA) != 0;
            int error = switch (request.type()) {
                case Nbd.CMD_WRITE -> disk.write(request.offset(), request.payload(), fua);
                case Nbd.CMD_FLUSH -> disk.flush();
                case Nbd.CMD_TRIM -> disk.trim(request.offset(), request.length(), fua);
                case Nbd.CMD_WRITE_ZEROES -> disk.writeZeroes(request.offset(), request.length(), fua);
                default -> Nbd.EINVAL;
            };
            return error == 0 ? replies.ok(request) : replies.error(request, error, describe(error));
        } catch (RuntimeException | InternalError unexpected) {
            // A bug, or an unreadable page under a mapping (the JVM's InternalError): answer EIO so
            // the client is never left waiting for a reply that will not come.
            log.error("{} at {} failed", request.type(), request.offset(), unexpected);
            return replies.error(request, Nbd.EIO, "internal error");
        } finally {
            release(request);
        }
    }

    /**
     * A read, write, trim or zeroing of no bytes (inside the disk): done, without asking the disk.
     * The protocol leaves it unspecified (but says not to disconnect); answered here, every disk
     * answers alike, and one that cuts requests into pieces (the agent's) has no piece to answer
     * it with.
     */
    private static boolean ofNoBytes(NbdRequest request) {
        int type = request.type();
        return request.length() == 0
                && (type == Nbd.CMD_READ
                        || type == Nbd.CMD_WRITE
                        || type == Nbd.CMD_TRIM
                        || type == Nbd.CMD_WRITE_ZEROES);
    }

    private record Refusal(int error, String message) {}

    /** Why a request must not reach the disk, or null. */
    private Refusal refusal(NbdRequest request) {
        if (request.refusal() != 0) {
            return new Refusal(request.refusal(), "request of " + request.length() + " bytes is too large");
        }
        int type = request.type();
        boolean writes = type == Nbd.CMD_WRITE || type == Nbd.CMD_TRIM || type == Nbd.CMD_WRITE_ZEROES;
        if (type == Nbd.CMD_FLUSH) {
            return null;
        }
        // an asynchronous disk (the agent's) answers base:allocation only; its exports offer no other
        boolean described = disk instanceof AsyncNbdDisk ? negotiated.baseAllocation() : negotiated.anyContext();
        if (type == Nbd.CMD_BLOCK_STATUS && !described) {
            return new Refusal(Nbd.EINVAL, "no metadata context was negotiated");
        }
        if (writes && disk.readOnly()) {
            return new Refusal(Nbd.EPERM, "the export is read-only");
        }
        if (type == Nbd.CMD_READ && request.length() > Nbd.MAX_PAYLOAD) {
            return new Refusal(Nbd.EOVERFLOW, "a read may carry at most " + Nbd.MAX_PAYLOAD + " bytes");
        }
        if (request.length() == 0 && type == Nbd.CMD_BLOCK_STATUS) {
            return new Refusal(Nbd.EINVAL, "block status of no bytes");
        }
        boolean inside = request.offset() >= 0 && request.offset() + request.length() <= disk.sizeBytes();
        if (inside) {
            return null;
        }
        String message = "range " + request.offset() + "+" + request.length() + " is outside the export of "
                + disk.sizeBytes() + " bytes";
        return new Refusal(writes ? Nbd.ENOSPC : Nbd.EINVAL, message);
    }

    private ByteBuf read(NbdDisk disk, NbdRequest request) {
        ByteBuf reply = replies.readStart(request);
        int error;
        try {
            error = disk.read(request.offset(), (int) request.length(), reply);
        } catch (RuntimeException | InternalError failure) {
            reply.release();
            throw failure;
        }
        if (error != 0) {
            reply.release();
            return replies.error(request, error, describe(error));
        }
        return replies.readDone(reply, request);
    }

    /** One chunk per negotiated context: base:allocation, then qemu:allocation-depth. */
    private ByteBuf blockStatus(NbdDisk disk, NbdRequest request) {
        List<Replies.Described> contexts = new ArrayList<>(2);
        if (negotiated.baseAllocation()) {
            Extents extents = new Extents();
            int error = disk.allocation(request.offset(), request.length(), extents);
            if (error != 0) {
                return replies.error(request, error, describe(error));
            }
            contexts.add(new Replies.Described(Nbd.BASE_ALLOCATION_ID, extents));
        }
        if (negotiated.allocationDepth()) {
            Extents extents = new Extents();
            int error = disk.allocationDepth(request.offset(), request.length(), extents);
            if (error != 0) {
                return replies.error(request, error, describe(error));
            }
            contexts.add(new Replies.Described(Nbd.ALLOCATION_DEPTH_ID, extents));
        }
        return blockStatusReply(request, contexts);
    }

    private ByteBuf blockStatusReply(NbdRequest request, Extents baseAllocation) {
        return blockStatusReply(request, List.of(new Replies.Described(Nbd.BASE_ALLOCATION_ID, baseAllocation)));
    }

    /** Cuts each context's extents to what the request may be answered with. */
    private ByteBuf blockStatusReply(NbdRequest request, List<Replies.Described> contexts) {
        for (Replies.Described context : contexts) {
            Extents extents = context.extents();
            if (extents.count() == 0) {
                log.error("the disk described no extent at {}", request.offset());
                return replies.error(request, Nbd.EIO, "internal error");
            }
            if (extents.covered() > request.length()) {
                extents.truncate(request.length());
            }
            if ((request.flags() & Nbd.CMD_FLAG_REQ_ONE) != 0) {
                extents.truncate(extents.length(0));
            }
        }
        return replies.blockStatus(request, contexts);
    }

    private static String describe(int error) {
        return switch (error) {
            case Nbd.EPERM -> "the export is read-only";
            case Nbd.EIO -> "input/output error";
            case Nbd.ENOSPC -> "no space left";
            case Nbd.ESHUTDOWN -> "the server is shutting down";
            case Nbd.ENOTSUP -> "not supported";
            default -> "error " + error;
        };
    }

    private static void release(NbdRequest request) {
        if (request.payload() != null && request.payload().refCnt() > 0) {
            request.payload().release();
        }
    }

    private void closeWhenIdle(ChannelHandlerContext ctx) {
        if (disconnecting && inFlight == 0) {
            ctx.close();
        }
    }
}
