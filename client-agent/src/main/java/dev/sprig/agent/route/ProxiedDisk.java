package dev.sprig.agent.route;

import dev.sprig.nbd.Nbd;
import dev.sprig.nbd.NbdRequest;
import dev.sprig.nbd.client.NbdCallback;
import dev.sprig.nbd.client.NbdChannel;
import dev.sprig.nbd.server.AsyncNbdDisk;
import dev.sprig.nbd.server.Extents;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.EventLoop;
import java.io.IOException;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A disk whose requests are cut at PC boundaries and forwarded, piece by piece and all at once, to
 * the node holding each PC, without leaving the client connection's event loop. When a node refuses
 * a write as frozen (EPERM: a snapshot moved the disk to a new lc), no longer has the export (the lc
 * moved), or the connection breaks, the attachment is fetched again (off the loop: it is an HTTP
 * call) and the piece retried once, so the NBD client never sees it.
 */
final class ProxiedDisk implements AsyncNbdDisk {

    /** Block status asks at most this many PCs' nodes per request; the client asks again for the rest. */
    static final int STATUS_PIECES = 64;

    private static final Logger log = LoggerFactory.getLogger(ProxiedDisk.class);

    private final Attachments attachments;
    private final NodeChannels channels;
    private final Executor refresher;
    private volatile Attachment attachment;
    /** Whether a refresh before expiry is under way, so that requests start at most one. */
    private final AtomicBoolean refreshing = new AtomicBoolean();
    /** After a failed refresh, the next try waits this long, not the next request. */
    private volatile long nextRefreshMillis;

    private static final long REFRESH_RETRY_MILLIS = 5_000;

    ProxiedDisk(Attachment attachment, Attachments attachments, NodeChannels channels, Executor refresher) {
        this.attachment = attachment;
        this.attachments = attachments;
        this.channels = channels;
        this.refresher = refresher;
    }

    @Override
    public long sizeBytes() {
        return attachment.sizeBytes();
    }

    @Override
    public void serve(NbdRequest request, EventLoop loop, Answer answer) {
        refreshIfDue();
        boolean fua = (request.flags() & Nbd.CMD_FLAG_FUA) != 0;
        switch (request.type()) {
            case Nbd.CMD_READ -> read(loop, request.offset(), (int) request.length(), answer);
            case Nbd.CMD_WRITE -> write(loop, request.offset(), request.payload(), fua, answer);
            case Nbd.CMD_TRIM, Nbd.CMD_WRITE_ZEROES ->
                eachPiece(
                        loop,
                        request.offset(),
                        request.length(),
                        answer,
                        (piece, done) -> call(
                                loop,
                                piece.pcIndex(),
                                (node, callback) ->
                                        node.command(request.type(), piece.offset(), piece.length(), fua, callback),
                                done));
            case Nbd.CMD_FLUSH -> flush(loop, answer);
            case Nbd.CMD_BLOCK_STATUS -> allocation(loop, request.offset(), request.length(), answer);
            default -> answer.error(Nbd.EINVAL, "command " + request.type() + " is not supported");
        }
    }

    private void read(EventLoop loop, long offset, int length, Answer answer) {
        List<PcPiece> pieces = PcPiece.of(offset, length, attachment.pcSizeBytes());
        if (pieces.size() == 1) {
            this.<ByteBuf>call(
                    loop,
                    pieces.get(0).pcIndex(),
                    (node, callback) -> node.read(offset, length, callback),
                    (error, data) -> {
                        if (error != 0) {
                            answer.error(error, "reading the node failed");
                        } else {
                            answer.data(data);
                        }
                    });
            return;
        }
        ByteBuf[] parts = new ByteBuf[pieces.size()];
        Countdown countdown = new Countdown(pieces.size(), error -> {
            if (error != 0) {
                for (ByteBuf part : parts) {
                    if (part != null) {
                        part.release();
                    }
                }
                answer.error(error, "reading the node failed");
                return;
            }
            CompositeByteBuf whole = io.netty.buffer.Unpooled.compositeBuffer(parts.length);
            whole.addComponents(true, parts);
            answer.data(whole);
        });
        for (int i = 0; i < parts.length; i++) {
            PcPiece piece = pieces.get(i);
            int index = i;
            this.<ByteBuf>call(
                    loop,
                    piece.pcIndex(),
                    (node, callback) -> node.read(piece.offset(), (int) piece.length(), callback),
                    (error, data) -> {
                        if (error == 0) {
                            parts[index] = data;
                        }
                        countdown.done(error);
                    });
        }
    }

    private void write(EventLoop loop, long offset, ByteBuf payload, boolean fua, Answer answer) {
        int start = payload.readerIndex();
        eachPiece(loop, offset, payload.readableBytes(), answer, (piece, done) -> {
            ByteBuf slice = payload.retainedSlice(start + (int) piece.done(), (int) piece.length());
            this.<Void>call(
                    loop,
                    piece.pcIndex(),
                    // each attempt sends its own reference, so that a retry still has the bytes
                    (node, callback) -> node.write(piece.offset(), slice.retainedDuplicate(), fua, callback),
                    (error, unused) -> {
                        slice.release();
                        done.completed(error, null);
                    });
        });
        payload.release();
    }

    /** Every node of the disk makes its writes durable before the flush is answered. */
    private void flush(EventLoop loop, Answer answer) {
        var nodes = new LinkedHashSet<>(attachment.nodes());
        Countdown countdown = new Countdown(nodes.size(), error -> finish(answer, error));
        for (NodeExport node : nodes) {
            this.<Void>attempt(
                    loop,
                    node,
                    (channel, callback) -> channel.command(Nbd.CMD_FLUSH, 0, 0, false, callback),
                    false,
                    (error, unused) -> countdown.done(error),
                    -1);
        }
    }

    /**
     * Each PC's extents come from its node, asked one after the other. Stops after the PC where
     * the first extent ends (what QEMU, asking for one extent at a time, needs) or after
     * {@value #STATUS_PIECES} PCs.
     */
    private void allocation(EventLoop loop, long offset, long length, Answer answer) {
        List<PcPiece> pieces = PcPiece.of(offset, length, attachment.pcSizeBytes());
        Extents into = new Extents();
        statusFrom(loop, pieces, 0, into, answer);
    }

    private void statusFrom(EventLoop loop, List<PcPiece> pieces, int index, Extents into, Answer answer) {
        PcPiece piece = pieces.get(index);
        this.<Extents>call(
                loop,
                piece.pcIndex(),
                (node, callback) -> node.allocation(piece.offset(), piece.length(), callback),
                (error, extents) -> {
                    if (error != 0) {
                        answer.error(error, "block status from the node failed");
                        return;
                    }
                    for (int i = 0; i < extents.count(); i++) {
                        into.add(extents.length(i), extents.flags(i));
                    }
                    if (into.count() > 1 || index + 1 == pieces.size() || index + 1 == STATUS_PIECES) {
                        answer.extents(into);
                    } else {
                        statusFrom(loop, pieces, index + 1, into, answer);
                    }
                });
    }

    @FunctionalInterface
    private interface PieceWork {
        void start(PcPiece piece, Done<Void> done);
    }

    /** Runs {@code work} on every piece at once; answers ok, or the first error, when all are done. */
    private void eachPiece(EventLoop loop, long offset, long length, Answer answer, PieceWork work) {
        List<PcPiece> pieces = PcPiece.of(offset, length, attachment.pcSizeBytes());
        Countdown countdown = new Countdown(pieces.size(), error -> finish(answer, error));
        for (PcPiece piece : pieces) {
            work.start(piece, (error, unused) -> countdown.done(error));
        }
    }

    private static void finish(Answer answer, int error) {
        if (error == 0) {
            answer.ok();
        } else {
            answer.error(error, error == Nbd.EIO ? "the storage node failed" : "the storage node refused");
        }
    }

    /** What a piece asks of a node connection. */
    @FunctionalInterface
    private interface NodeWork<T> {
        void on(NbdChannel node, NbdCallback<T> callback);
    }

    /** The final answer for a piece: the node's error number, 0 with the value on success. */
    @FunctionalInterface
    private interface Done<T> {
        void completed(int error, @Nullable T value);
    }

    private <T> void call(EventLoop loop, long pcIndex, NodeWork<T> work, Done<T> done) {
        attempt(loop, attachment.nodeOf(pcIndex), work, false, done, pcIndex);
    }

    /**
     * One try on the node, and on EPERM or a broken connection a second one after the attachment
     * is fetched again ({@code pcIndex} picks the node of the new attachment; -1 keeps the node).
     */
    private <T> void attempt(
            EventLoop loop, NodeExport node, NodeWork<T> work, boolean retried, Done<T> done, long pcIndex) {
        work.on(channels.on(loop, node), new NbdCallback<>() {
            @Override
            public void completed(int error, @Nullable T value) {
                if (error == Nbd.EPERM && !retried) {
                    retryAfterRefresh(loop, node, work, done, pcIndex, "the lc is frozen");
                } else {
                    done.completed(error, value);
                }
            }

            @Override
            public void broken(IOException failure) {
                if (retried) {
                    log.warn("{}: {} failed after refreshing: {}", attachment.externId(), node, failure.toString());
                    done.completed(Nbd.EIO, null);
                } else {
                    retryAfterRefresh(loop, node, work, done, pcIndex, failure.toString());
                }
            }
        });
    }

    private <T> void retryAfterRefresh(
            EventLoop loop, NodeExport node, NodeWork<T> work, Done<T> done, long pcIndex, String why) {
        log.info("{}: {} on {}; refreshing the attachment", attachment.externId(), why, node);
        refresher.execute(() -> {
            try {
                attachment = attachments.of(attachment.externId());
                // the same node's export of the new attachment: its token is fresh
                NodeExport now = pcIndex < 0 ? attachment.sameNodeAs(node) : attachment.nodeOf(pcIndex);
                loop.execute(() -> attempt(loop, now, work, true, done, pcIndex));
            } catch (IOException | UnknownDiskException | RuntimeException failure) {
                log.warn("{}: refreshing the attachment failed: {}", attachment.externId(), failure.toString());
                loop.execute(() -> done.completed(Nbd.EIO, null));
            }
        });
    }

    /**
     * Fetches the attachment again, off the loop, once its data tokens are two thirds through their
     * life, so that connections opened later present a fresh token; requests meanwhile go on with
     * the current one. Refreshed on use: a disk nobody uses costs api-server nothing, and if its
     * token has expired by its next use, the refused connection fetches a fresh one (retryAfterRefresh).
     */
    private void refreshIfDue() {
        long now = System.currentTimeMillis();
        if (!attachment.refreshDue(now) || now < nextRefreshMillis || !refreshing.compareAndSet(false, true)) {
            return;
        }
        try {
            refresher.execute(() -> {
                try {
                    attachment = attachments.of(attachment.externId());
                } catch (IOException | UnknownDiskException | RuntimeException failure) {
                    nextRefreshMillis = System.currentTimeMillis() + REFRESH_RETRY_MILLIS;
                    log.warn(
                            "{}: refreshing the attachment before its tokens expire failed: {}",
                            attachment.externId(),
                            failure.toString());
                } finally {
                    refreshing.set(false);
                }
            });
        } catch (RejectedExecutionException closing) {
            refreshing.set(false);
        }
    }

    /** Counts pieces down on the event loop; the first error is kept. */
    private static final class Countdown {

        private final java.util.function.IntConsumer then;
        private int left;
        private int error;

        Countdown(int pieces, java.util.function.IntConsumer then) {
            this.left = pieces;
            this.then = then;
        }

        void done(int pieceError) {
            if (error == 0) {
                error = pieceError;
            }
            if (--left == 0) {
                then.accept(error);
            }
        }
    }
}
