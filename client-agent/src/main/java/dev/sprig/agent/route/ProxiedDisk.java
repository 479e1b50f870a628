package dev.sprig.agent.route;

import dev.sprig.nbd.Nbd;
import dev.sprig.nbd.NbdRequest;
import dev.sprig.nbd.client.ExportRefusedException;
import dev.sprig.nbd.client.NbdCallback;
import dev.sprig.nbd.client.NbdChannel;
import dev.sprig.nbd.server.AsyncNbdDisk;
import dev.sprig.nbd.server.Extents;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.EventLoop;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A disk whose requests are cut at PC boundaries and forwarded, piece by piece and all at once, to
 * the nodes holding each PC, without leaving the client connection's event loop.
 *
 * <p>On a disk with replica sets (decision 011) a write, zeroing or trim goes to every in-sync and
 * every rebuilding member of the PC's column and a flush to every such node, and the client hears
 * success only when all of them answered it; a member that fails or hangs is dropped first ({@link
 * Change}). A read goes to one in-sync member and, invisibly, to the next when that one fails
 * ({@link Fetch}); never to a rebuilding one.
 *
 * <p>On a disk of flat nodes (the embedded backend), when a node refuses a write as frozen (EPERM: a
 * snapshot moved the disk to a new lc), no longer has the export (the lc moved), or the connection
 * breaks, the attachment is fetched again (off the loop: it is an HTTP call) and the piece retried
 * once, so the NBD client never sees it.
 */
final class ProxiedDisk implements AsyncNbdDisk, MemberDrops.Disk {

    /** Block status asks at most this many PCs' nodes per request; the client asks again for the rest. */
    static final int STATUS_PIECES = 64;

    /** How long a change waits for api-server to let a failed member go before it fails. */
    static final Duration REPLICA_WAIT = Duration.ofSeconds(10);

    /** Rounds a replicated change may take (each after a drop or refresh) before it fails. */
    private static final int MAX_ROUNDS = 8;

    /** Pauses between sends again to a member api-server keeps: the first, and the longest. */
    private static final long FIRST_PAUSE_MILLIS = 50;

    private static final long LONGEST_PAUSE_MILLIS = 1_000;

    /** Refreshes a replicated change may make after refusals before the refusal is the answer. */
    private static final int MAX_REFRESHES = 2;

    private static final Logger log = LoggerFactory.getLogger(ProxiedDisk.class);

    private final Attachments attachments;
    private final NodeChannels channels;
    private final Executor refresher;
    private final MemberDrops drops;
    private final long replicaWaitNanos;
    private final java.util.function.Consumer<ProxiedDisk> released;
    private final Object leaseLock;
    /** Set once the connection is done: its disk fetches no attachment (no lease) any more. */
    private volatile boolean closed;

    private volatile Attachment attachment;
    /** Whether a refresh before expiry is under way, so that requests start at most one. */
    private final AtomicBoolean refreshing = new AtomicBoolean();
    /** After a failed refresh, the next try waits this long, not the next request. */
    private volatile long nextRefreshMillis;

    private static final long REFRESH_RETRY_MILLIS = 5_000;

    ProxiedDisk(Attachment attachment, Attachments attachments, NodeChannels channels, Executor refresher) {
        this(attachment, attachments, channels, refresher, REPLICA_WAIT);
    }

    /** @param replicaWait how long api-server may answer INSUFFICIENT_REPLICAS before a write fails */
    ProxiedDisk(
            Attachment attachment,
            Attachments attachments,
            NodeChannels channels,
            Executor refresher,
            Duration replicaWait) {
        this(attachment, attachments, channels, refresher, replicaWait, disk -> {}, new Object());
    }

    /**
     * @param released told when the connection that opened this disk is done with it
     * @param leaseLock held while the attachment is fetched (which renews this agent's write lease)
     *     and while the lease is ended, so that a renewal never lands after the detach
     */
    ProxiedDisk(
            Attachment attachment,
            Attachments attachments,
            NodeChannels channels,
            Executor refresher,
            Duration replicaWait,
            java.util.function.Consumer<ProxiedDisk> released,
            Object leaseLock) {
        this.released = released;
        this.leaseLock = leaseLock;
        this.attachment = attachment;
        this.attachments = attachments;
        this.channels = channels;
        this.refresher = refresher;
        this.drops = new MemberDrops(this, attachments, refresher);
        this.replicaWaitNanos = replicaWait.toNanos();
    }

    @Override
    public long sizeBytes() {
        return attachment.sizeBytes();
    }

    @Override
    public void release() {
        closed = true;
        released.accept(this);
    }

    /** The lock that orders this disk's lease renewals and its detach. */
    Object leaseLock() {
        return leaseLock;
    }

    /**
     * Fetches the attachment again, renewing the write lease, unless the connection is done: a
     * renewal after the last connection's detach would hold the disk for a token's life for no one.
     */
    private Attachment fetchAgain() throws IOException, UnknownDiskException {
        synchronized (leaseLock) {
            if (closed) {
                throw new IOException("the connection is closed: no attachment is fetched for it");
            }
            return adopt(attachments.of(attachment.externId()));
        }
    }

    /**
     * Renews the attachment (and with it this agent's write lease) if it is due, used or not: a
     * client that keeps a disk open without I/O still holds it for writing.
     */
    void renewIfDue() {
        refreshIfDue();
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
                        (piece, done) -> change(
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
            this.<ByteBuf>fetch(
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
            this.<ByteBuf>fetch(
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
            change(
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

    /**
     * Every (in-sync or rebuilding) node of the disk makes its writes durable before the flush is answered: each
     * node once, though it may hold several columns.
     */
    private void flush(EventLoop loop, Answer answer) {
        Attachment now = attachment;
        NodeWork<Void> flush = (channel, callback) -> channel.command(Nbd.CMD_FLUSH, 0, 0, false, callback);
        if (now.replicated()) {
            new Change(loop, -1, flush, (error, unused) -> finish(answer, error)).start(now);
            return;
        }
        List<ReplicaMember> nodes = now.nodes();
        Countdown countdown = new Countdown(nodes.size(), error -> finish(answer, error));
        for (ReplicaMember node : nodes) {
            this.<Void>attempt(loop, node.export(), flush, false, (error, unused) -> countdown.done(error), -1);
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
        this.<Extents>fetch(
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

    /**
     * A read of a PC: from one member of its column, the next one if that fails. It starts at the
     * column's preferred member unless a connection to that one failed lately on this loop ({@link
     * NodeChannels#avoided}), then at the next one that did not.
     */
    private <T> void fetch(EventLoop loop, long pcIndex, NodeWork<T> work, Done<T> done) {
        ReplicaColumn column = attachment.columnOf(pcIndex);
        new Fetch<>(loop, pcIndex, work, done, false, column, firstAnswering(column), 0).send();
    }

    /** The preferred member, or the next one whose connection did not fail lately; the preferred if all did. */
    private int firstAnswering(ReplicaColumn column) {
        int members = column.inSync().size();
        int preferred = column.preferred();
        for (int i = 0; i < members; i++) {
            int position = (preferred + i) % members;
            if (!channels.avoided(column.inSync().get(position).export())) {
                return position;
            }
        }
        return preferred;
    }

    /** A change of a PC (write, zeroes, trim): on every in-sync and rebuilding member of its column. */
    private void change(EventLoop loop, long pcIndex, NodeWork<Void> work, Done<Void> done) {
        Attachment now = attachment;
        if (now.replicated()) {
            new Change(loop, pcIndex, work, done).start(now);
        } else {
            attempt(loop, now.nodeOf(pcIndex), work, false, done, pcIndex);
        }
    }

    /**
     * One try on the node of an attachment without replica sets, and on EPERM or a broken
     * connection a second one after the attachment is fetched again ({@code pcIndex} picks the node
     * of the new attachment; -1 keeps the node).
     */
    private <T> void attempt(
            EventLoop loop, NodeExport node, NodeWork<T> work, boolean retried, Done<T> done, long pcIndex) {
        NodeLink link = channels.on(loop, node);
        work.on(link.channel(), link.watch(new Watched<T>() {
            @Override
            void answer(int error, @Nullable T value) {
                if (error == Nbd.EPERM && !retried) {
                    retryAfterRefresh(loop, node, work, done, pcIndex, "the lc is frozen");
                } else {
                    done.completed(error, value);
                }
            }

            @Override
            void fail(IOException failure) {
                if (retried) {
                    log.warn("{}: {} failed after refreshing: {}", attachment.externId(), node, failure.toString());
                    done.completed(Nbd.EIO, null);
                } else {
                    retryAfterRefresh(loop, node, work, done, pcIndex, failure.toString());
                }
            }
        }));
    }

    private <T> void retryAfterRefresh(
            EventLoop loop, NodeExport node, NodeWork<T> work, Done<T> done, long pcIndex, String why) {
        refreshThen(
                loop,
                why + " on " + node,
                // the same node's export of the new attachment: its token is fresh
                fresh -> attempt(
                        loop, pcIndex < 0 ? fresh.sameNodeAs(node) : fresh.nodeOf(pcIndex), work, true, done, pcIndex),
                () -> done.completed(Nbd.EIO, null));
    }

    /**
     * Fetches the attachment again off the loop, then runs {@code then} with it on the loop, or
     * {@code failed} when api-server could not say.
     */
    private void refreshThen(EventLoop loop, String why, Consumer<Attachment> then, Runnable failed) {
        String externId = attachment.externId();
        log.info("{}: {}; refreshing the attachment", externId, why);
        try {
            refresher.execute(() -> {
                Attachment fresh;
                try {
                    fresh = fetchAgain();
                } catch (IOException | UnknownDiskException | RuntimeException failure) {
                    log.warn("{}: refreshing the attachment failed: {}", externId, failure.toString());
                    loop.execute(failed);
                    return;
                }
                loop.execute(() -> then.accept(fresh));
            });
        } catch (RejectedExecutionException closing) {
            failed.run();
        }
    }

    @Override
    public Attachment attachment() {
        return attachment;
    }

    @Override
    public synchronized Attachment adopt(Attachment newer) {
        if (newer.supersedes(attachment)) {
            attachment = newer;
        }
        return attachment;
    }

    /**
     * A read on member {@code position} of {@code column}; when it fails, on the next member, until
     * each was tried once; then once more on the column of a fresh attachment; then the error.
     */
    private final class Fetch<T> extends Watched<T> {

        private final EventLoop loop;
        private final long pcIndex;
        private final NodeWork<T> work;
        private final Done<T> done;
        private final boolean refreshed;
        private final ReplicaColumn column;
        private final int position;
        private final int tried;

        Fetch(
                EventLoop loop,
                long pcIndex,
                NodeWork<T> work,
                Done<T> done,
                boolean refreshed,
                ReplicaColumn column,
                int position,
                int tried) {
            this.loop = loop;
            this.pcIndex = pcIndex;
            this.work = work;
            this.done = done;
            this.refreshed = refreshed;
            this.column = column;
            this.position = position;
            this.tried = tried;
        }

        void send() {
            NodeLink link = channels.on(loop, column.inSync().get(position).export());
            work.on(link.channel(), link.watch(this));
        }

        @Override
        void answer(int error, @Nullable T value) {
            if (error == 0) {
                done.completed(0, value);
            } else {
                next(error, "error " + error);
            }
        }

        @Override
        void fail(IOException failure) {
            channels.failed(column.inSync().get(position).export());
            next(Nbd.EIO, failure.toString());
        }

        private void next(int error, String why) {
            int members = column.inSync().size();
            if (tried + 1 < members) {
                log.debug(
                        "{}: reading from {} failed ({}); trying the next member",
                        attachment.externId(),
                        member(),
                        why);
                new Fetch<>(loop, pcIndex, work, done, refreshed, column, (position + 1) % members, tried + 1).send();
            } else if (!refreshed) {
                refreshThen(
                        loop,
                        "reading from " + member() + " failed (" + why + ")",
                        fresh -> {
                            ReplicaColumn now = fresh.columnOf(pcIndex);
                            new Fetch<>(loop, pcIndex, work, done, true, now, firstAnswering(now), 0).send();
                        },
                        () -> done.completed(Nbd.EIO, null));
            } else {
                done.completed(error, null);
            }
        }

        private String member() {
            return column.inSync().get(position).export().toString();
        }
    }

    /**
     * A write, zeroing or trim of one PC ({@code pcIndex} >= 0), or a flush ({@code pcIndex} -1), on
     * a disk with replica sets: sent at once to every in-sync and rebuilding member of the PC's
     * column (a flush: to every such node of the disk), and done when every one of them has
     * answered success. A member that failed, or did not answer within the node timeout, is dropped
     * from the column (api-server answers the attachment without it), and the change is sent again
     * to the members of the new attachment, all of them, with their new tokens: writes are
     * idempotent, and a write is acknowledged only when every member in sync or rebuilding has it.
     * A member api-server will not drop (INSUFFICIENT_REPLICAS: too few would stay in sync, as with
     * the only copy of a one-replica family) or cannot be asked to drop is sent the change again,
     * after a growing pause, until it answers (a node that stalled for longer than the node timeout
     * or restarted) or the replica wait is up: then the client gets EIO.
     * A rebuilding member is dropped like an in-sync one; api-server does not count it against
     * min-in-sync, so its failure alone never fails a write. A refusal (EPERM: the lc was frozen or
     * the epoch fenced; EINVAL: a column that moved; a refused export: an expired or fenced token)
     * fetches the attachment again and sends again. Everything here runs on {@code loop} but the
     * calls to api-server.
     */
    private final class Change {

        private final EventLoop loop;
        private final long pcIndex;
        private final NodeWork<Void> work;
        private final Done<Void> done;
        private int rounds;
        private int refreshes;
        /** When sending again to members api-server keeps ends in EIO; 0 until it first keeps one. */
        private long giveUpNanos;

        private long pauseMillis = FIRST_PAUSE_MILLIS;

        // the round under way
        private Attachment sentWith;
        private int left;
        private int refusal;
        private @Nullable List<String> failed;

        Change(EventLoop loop, long pcIndex, NodeWork<Void> work, Done<Void> done) {
            this.loop = loop;
            this.pcIndex = pcIndex;
            this.work = work;
            this.done = done;
        }

        void start(Attachment with) {
            rounds++;
            send(with);
        }

        /** Sends one round to the writers of {@code with}. */
        private void send(Attachment with) {
            sentWith = with;
            refusal = 0;
            failed = null;
            List<ReplicaMember> members =
                    pcIndex < 0 ? with.nodes() : with.columnOf(pcIndex).writers();
            left = members.size();
            for (ReplicaMember member : members) {
                NodeLink link = channels.on(loop, member.export());
                work.on(link.channel(), link.watch(new Watched<Void>() {
                    @Override
                    void answer(int error, @Nullable Void unused) {
                        answered(member, error, null);
                    }

                    @Override
                    void fail(IOException failure) {
                        answered(member, Nbd.EIO, failure);
                    }
                }));
            }
        }

        private void answered(ReplicaMember member, int error, @Nullable IOException broken) {
            if (error != 0) {
                boolean refused = broken == null
                        ? error == Nbd.EPERM || error == Nbd.EINVAL
                        : broken instanceof ExportRefusedException && refreshes < MAX_REFRESHES;
                if (refused) {
                    refusal = broken == null ? error : Nbd.EPERM;
                } else {
                    log.warn(
                            "{}: {} failed on {} ({})",
                            sentWith.externId(),
                            pcIndex < 0 ? "a flush" : "a write to PC " + pcIndex,
                            member.nodeId(),
                            broken != null ? broken.getMessage() : "error " + error);
                    if (failed == null) {
                        failed = new ArrayList<>(2);
                    }
                    failed.add(member.nodeId());
                }
            }
            if (--left == 0) {
                settle();
            }
        }

        private void settle() {
            List<String> dropping = failed;
            if (dropping == null && refusal == 0) {
                done.completed(0, null);
            } else if (rounds == MAX_ROUNDS) {
                log.warn("{}: giving up after {} rounds", sentWith.externId(), rounds);
                done.completed(Nbd.EIO, null);
            } else if (dropping == null) {
                if (refreshes == MAX_REFRESHES) {
                    done.completed(refusal, null);
                    return;
                }
                refreshes++;
                refreshThen(
                        loop, "a member refused (" + refusal + ")", this::start, () -> done.completed(Nbd.EIO, null));
            } else {
                dropThenResend(dropping);
            }
        }

        private void dropThenResend(List<String> dropping) {
            List<CompletableFuture<Attachment>> drops = new ArrayList<>();
            for (ReplicaColumn column : sentWith.columns()) {
                if (pcIndex >= 0 && column != sentWith.columnOf(pcIndex)) {
                    continue;
                }
                for (String node : dropping) {
                    if (column.takesWrites(node)) {
                        drops.add(ProxiedDisk.this.drops.drop(column.column(), node));
                    }
                }
            }
            CompletableFuture.allOf(drops.toArray(CompletableFuture[]::new)).whenComplete((dropped, failure) -> {
                try {
                    loop.execute(() -> {
                        if (failure == null) {
                            start(attachment);
                        } else {
                            sendAgainLater(dropping, failure);
                        }
                    });
                } catch (RejectedExecutionException closing) {
                    // the loop is shutting down, and the client's connection with it
                }
            });
        }

        /**
         * api-server keeps a failed member (or could not be asked): the member may answer again, so
         * the change goes to it again after a pause, until the replica wait is up. {@code failed} are
         * all the members that failed this round; the others of them may have been dropped.
         */
        private void sendAgainLater(List<String> failed, Throwable why) {
            Throwable cause = why instanceof CompletionException && why.getCause() != null ? why.getCause() : why;
            if (!(cause instanceof InsufficientReplicasException || cause instanceof IOException)) {
                log.warn("{}: dropping {} failed: {}", sentWith.externId(), failed, cause.toString());
                done.completed(Nbd.EIO, null);
                return;
            }
            long now = System.nanoTime();
            if (giveUpNanos == 0) {
                giveUpNanos = now + replicaWaitNanos;
            }
            if (now + pauseMillis * 1_000_000 > giveUpNanos) {
                log.warn(
                        "{}: {} still failed on one of {} after {} ms, and api-server did not drop it: {}",
                        sentWith.externId(),
                        pcIndex < 0 ? "a flush" : "a write to PC " + pcIndex,
                        failed,
                        replicaWaitNanos / 1_000_000,
                        cause.getMessage());
                done.completed(Nbd.EIO, null);
                return;
            }
            try {
                loop.schedule(() -> send(attachment), pauseMillis, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException closing) {
                return; // the loop is shutting down, and the client's connection with it
            }
            pauseMillis = Math.min(LONGEST_PAUSE_MILLIS, pauseMillis * 2);
        }
    }

    /**
     * Fetches the attachment again, off the loop, once its data tokens are two thirds through their
     * life, so that connections opened later present a fresh token; requests meanwhile go on with
     * the current one. Refreshed on use, and for an open disk nobody uses by {@link AttachedDisks}'s
     * renewal (its write lease must outlive its idle spells); if a token has expired by its next use
     * all the same, the refused connection fetches a fresh one (retryAfterRefresh).
     */
    private void refreshIfDue() {
        long now = System.currentTimeMillis();
        if (!attachment.refreshDue(now) || now < nextRefreshMillis || !refreshing.compareAndSet(false, true)) {
            return;
        }
        try {
            refresher.execute(() -> {
                try {
                    fetchAgain();
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
