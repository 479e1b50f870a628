package dev.sprig.agent.nbd;

import dev.sprig.nbd.Nbd;
import dev.sprig.nbd.NbdRequest;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one client's requests on the worker pool (forwarding to nodes blocks) and answers each
 * with a simple reply as soon as it is done, so replies come out of order, as the protocol allows.
 * Requests outside the disk are refused here, before any node sees them. Reading from the socket
 * pauses while too many requests are in flight.
 */
final class AgentTransmissionHandler extends SimpleChannelInboundHandler<NbdRequest> {

    private static final Logger log = LoggerFactory.getLogger(AgentTransmissionHandler.class);
    private static final int PAUSE_ABOVE = 64;
    private static final int RESUME_BELOW = 16;

    private final Disk disk;
    private final ExecutorService workers;
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile boolean disconnecting;

    AgentTransmissionHandler(Disk disk, ExecutorService workers) {
        this.disk = disk;
        this.workers = workers;
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
            ctx.writeAndFlush(reply(ctx, request, Nbd.ESHUTDOWN));
        }
    }

    private ByteBuf perform(ChannelHandlerContext ctx, NbdRequest request) {
        try {
            int refusal = refusal(request);
            if (refusal != 0) {
                return reply(ctx, request, refusal);
            }
            if (request.type() == Nbd.CMD_READ) {
                return read(ctx, request);
            }
            boolean fua = (request.flags() & Nbd.CMD_FLAG_FUA) != 0;
            int error = switch (request.type()) {
                case Nbd.CMD_WRITE -> disk.write(request.offset(), request.payload(), fua);
                case Nbd.CMD_FLUSH -> disk.flush();
                case Nbd.CMD_TRIM -> disk.trim(request.offset(), request.length(), fua);
                case Nbd.CMD_WRITE_ZEROES -> disk.writeZeroes(request.offset(), request.length(), fua);
                default -> Nbd.EINVAL;
            };
            return reply(ctx, request, error);
        } catch (RuntimeException unexpected) {
            // a bug: answer EIO so the client is never left waiting for a reply that will not come
            log.error("{} at {} failed", request.type(), request.offset(), unexpected);
            return reply(ctx, request, Nbd.EIO);
        } finally {
            release(request);
        }
    }

    /** The error the protocol asks for a request that must not reach a node, or 0. */
    private int refusal(NbdRequest request) {
        if (request.refusal() != 0) {
            return request.refusal();
        }
        if (request.type() == Nbd.CMD_FLUSH) {
            return 0;
        }
        if (request.type() == Nbd.CMD_READ && request.length() > Nbd.MAX_PAYLOAD) {
            return Nbd.EOVERFLOW;
        }
        boolean inside = request.offset() >= 0 && request.offset() + request.length() <= disk.sizeBytes();
        if (inside) {
            return 0;
        }
        return request.type() == Nbd.CMD_READ ? Nbd.EINVAL : Nbd.ENOSPC;
    }

    private ByteBuf read(ChannelHandlerContext ctx, NbdRequest request) {
        int length = (int) request.length();
        ByteBuf reply = ctx.alloc().heapBuffer(16 + length);
        reply.writeInt(Nbd.SIMPLE_REPLY_MAGIC).writeInt(0).writeLong(request.cookie());
        int error;
        try {
            error = disk.read(request.offset(), length, reply);
        } catch (RuntimeException failure) {
            reply.release();
            throw failure;
        }
        if (error != 0) {
            reply.release();
            return reply(ctx, request, error);
        }
        return reply;
    }

    private static ByteBuf reply(ChannelHandlerContext ctx, NbdRequest request, int error) {
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
