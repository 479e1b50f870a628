package dev.sprig.node.nbd;

import dev.sprig.nbd.Nbd;
import dev.sprig.nbd.NbdRequest;
import dev.sprig.node.engine.ChunkEngine;
import dev.sprig.node.engine.CorruptionException;
import dev.sprig.node.engine.EngineClosedException;
import dev.sprig.node.engine.EngineException;
import dev.sprig.node.engine.FrozenLcException;
import dev.sprig.node.engine.OutOfRangeException;
import dev.sprig.node.metrics.DataPathMetrics;
import dev.sprig.node.metrics.DataPathMetrics.Op;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the requests of one connection on the worker pool (engine calls block on the disk, the event
 * loop must not) and answers each with a simple reply as soon as it is done, so replies may come out
 * of order, as the protocol allows. A flush covers every write answered before it arrived. Reading
 * from the socket pauses while too many requests are in flight.
 */
final class TransmissionHandler extends SimpleChannelInboundHandler<NbdRequest> {

    private static final Logger log = LoggerFactory.getLogger(TransmissionHandler.class);
    private static final int PAUSE_ABOVE = 128;
    private static final int RESUME_BELOW = 32;

    private final ChunkEngine engine;
    private final long lcId;
    private final ExecutorService workers;
    private final DataPathMetrics metrics;
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile boolean disconnecting;

    TransmissionHandler(ChunkEngine engine, long lcId, ExecutorService workers, DataPathMetrics metrics) {
        this.engine = engine;
        this.lcId = lcId;
        this.workers = workers;
        this.metrics = metrics;
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
        if (inFlight.incrementAndGet() > PAUSE_ABOVE) {
            ctx.channel().config().setAutoRead(false);
        }
        try {
            workers.execute(() -> {
                try {
                    ctx.writeAndFlush(perform(ctx, request));
                } finally {
                    if (inFlight.decrementAndGet() < RESUME_BELOW
                            && !ctx.channel().config().isAutoRead()) {
                        ctx.channel().config().setAutoRead(true);
                    }
                    closeWhenIdle(ctx);
                }
            });
        } catch (RejectedExecutionException shuttingDown) {
            release(request);
            inFlight.decrementAndGet();
            ctx.writeAndFlush(error(ctx, request, Nbd.ESHUTDOWN));
        }
    }

    private ByteBuf perform(ChannelHandlerContext ctx, NbdRequest request) {
        if (request.refusal() != 0) {
            return error(ctx, request, request.refusal());
        }
        try {
            switch (request.type()) {
                case Nbd.CMD_READ -> {
                    return read(ctx, request);
                }
                case Nbd.CMD_WRITE -> {
                    ByteBuf payload = request.payload();
                    metrics.time(Op.WRITE, () -> engine.write(lcId, request.offset(), payload.nioBuffer()));
                    metrics.written(request.length());
                    flushIfFua(request);
                }
                case Nbd.CMD_FLUSH -> metrics.time(Op.FLUSH, () -> engine.flush(lcId));
                case Nbd.CMD_TRIM -> {
                    metrics.time(Op.TRIM, () -> engine.trim(lcId, request.offset(), request.length()));
                    flushIfFua(request);
                }
                case Nbd.CMD_WRITE_ZEROES -> {
                    metrics.time(Op.WRITE_ZEROES, () -> engine.writeZeroes(lcId, request.offset(), request.length()));
                    flushIfFua(request);
                }
                default -> {
                    return error(ctx, request, Nbd.EINVAL);
                }
            }
            return ok(ctx, request);
        } catch (EngineException failure) {
            return error(ctx, request, errorOf(request, failure));
        } catch (RuntimeException | InternalError unexpected) {
            // A bug, or an unreadable page under a mapping (the JVM's InternalError): answer EIO so
            // the client is never left waiting for a reply that will not come.
            log.error("lc {}: {} failed", lcId, request.type(), unexpected);
            return error(ctx, request, Nbd.EIO);
        } finally {
            release(request);
        }
    }

    private ByteBuf read(ChannelHandlerContext ctx, NbdRequest request) {
        if (request.length() > Nbd.MAX_PAYLOAD) {
            return error(ctx, request, Nbd.EOVERFLOW);
        }
        int length = (int) request.length();
        ByteBuf reply = ctx.alloc().directBuffer(16 + length);
        try {
            reply.writeInt(Nbd.SIMPLE_REPLY_MAGIC).writeInt(0).writeLong(request.cookie());
            metrics.time(Op.READ, () -> engine.read(lcId, request.offset(), reply.nioBuffer(16, length)));
            metrics.read(length);
            reply.writerIndex(16 + length);
            return reply;
        } catch (RuntimeException failure) {
            reply.release();
            throw failure;
        }
    }

    private void flushIfFua(NbdRequest request) {
        if ((request.flags() & Nbd.CMD_FLAG_FUA) != 0) {
            metrics.time(Op.FLUSH, () -> engine.flush(lcId));
        }
    }

    private int errorOf(NbdRequest request, EngineException failure) {
        if (failure instanceof FrozenLcException) {
            return Nbd.EPERM;
        }
        if (failure instanceof OutOfRangeException) {
            return request.type() == Nbd.CMD_READ ? Nbd.EINVAL : Nbd.ENOSPC;
        }
        if (failure instanceof EngineClosedException) {
            return Nbd.ESHUTDOWN;
        }
        if (failure instanceof CorruptionException) {
            metrics.corruption();
            log.error("lc {}: {}", lcId, failure.getMessage());
        }
        return Nbd.EIO;
    }

    private static ByteBuf ok(ChannelHandlerContext ctx, NbdRequest request) {
        return error(ctx, request, 0);
    }

    private static ByteBuf error(ChannelHandlerContext ctx, NbdRequest request, int error) {
        return ctx.alloc()
                .buffer(16)
                .writeInt(Nbd.SIMPLE_REPLY_MAGIC)
                .writeInt(error)
                .writeLong(request.cookie());
    }

    private static void release(NbdRequest request) {
        if (request.payload() != null && request.payload().refCnt() > 0) {
            request.payload().release();
        }
    }

    private void closeWhenIdle(ChannelHandlerContext ctx) {
        if (disconnecting && inFlight.get() == 0) {
            ctx.close();
        }
    }
}
