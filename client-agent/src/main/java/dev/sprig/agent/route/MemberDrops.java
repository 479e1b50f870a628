package dev.sprig.agent.route;

import dev.sprig.client.DropMember;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reports a disk's failed replica-set members to api-server, off the event loops. Every write in
 * flight to a node that died fails at once, so reports of one member are made once and shared: a
 * request joins the report already under way. While api-server answers {@code
 * INSUFFICIENT_REPLICAS} (or cannot be reached), the report is made again with a growing pause,
 * until {@code replicaWait} is up; then it fails, and the writes waiting on it fail with it.
 */
final class MemberDrops {

    private static final Logger log = LoggerFactory.getLogger(MemberDrops.class);
    private static final long FIRST_PAUSE_MILLIS = 50;
    private static final long LONGEST_PAUSE_MILLIS = 1_000;

    /** What the drops need of their disk: its current attachment, and a way to adopt a newer one. */
    interface Disk {
        Attachment attachment();

        /** Takes {@code newer} unless it is older than the attachment held; answers the one held. */
        Attachment adopt(Attachment newer);
    }

    private record Member(int column, String nodeId) {}

    private final Disk disk;
    private final Attachments attachments;
    private final Executor executor;
    private final Duration replicaWait;
    private final Map<Member, CompletableFuture<Attachment>> underWay = new ConcurrentHashMap<>();

    MemberDrops(Disk disk, Attachments attachments, Executor executor, Duration replicaWait) {
        this.disk = disk;
        this.attachments = attachments;
        this.executor = executor;
        this.replicaWait = replicaWait;
    }

    /**
     * Drops {@code nodeId} from {@code column}: completes with an attachment in which it is no longer
     * {@code in_sync} nor {@code rebuilding} there, or exceptionally (an {@link InsufficientReplicasException} or an
     * {@link IOException}) once {@code replicaWait} is up.
     */
    CompletableFuture<Attachment> drop(int column, String nodeId) {
        Member member = new Member(column, nodeId);
        CompletableFuture<Attachment> mine = new CompletableFuture<>();
        CompletableFuture<Attachment> running = underWay.putIfAbsent(member, mine);
        if (running != null) {
            return running;
        }
        try {
            executor.execute(() -> {
                try {
                    mine.complete(dropWaiting(member));
                } catch (Exception | Error failure) {
                    mine.completeExceptionally(failure);
                } finally {
                    underWay.remove(member, mine);
                }
            });
        } catch (RejectedExecutionException closing) {
            underWay.remove(member, mine);
            mine.completeExceptionally(new IOException("the agent is closing"));
        }
        return mine;
    }

    private Attachment dropWaiting(Member member) throws Exception {
        long deadline = System.nanoTime() + replicaWait.toNanos();
        long pause = FIRST_PAUSE_MILLIS;
        String externId = disk.attachment().externId();
        while (true) {
            Attachment current = disk.attachment();
            ReplicaColumn column =
                    current.columns().get(member.column() % current.columns().size());
            if (!column.takesWrites(member.nodeId())) {
                return current; // dropped already (another agent, or api-server's own calls)
            }
            try {
                Attachment next = attachments.dropMember(
                        externId, new DropMember(member.column(), member.nodeId(), column.epoch()));
                log.warn(
                        "{}: dropped {} from column {} at epoch {}",
                        externId,
                        member.nodeId(),
                        member.column(),
                        column.epoch());
                return disk.adopt(next);
            } catch (InsufficientReplicasException | IOException refused) {
                if (System.nanoTime() + pause * 1_000_000 > deadline) {
                    log.warn(
                            "{}: could not drop {} from column {} within {} ms: {}",
                            externId,
                            member.nodeId(),
                            member.column(),
                            replicaWait.toMillis(),
                            refused.getMessage());
                    throw refused;
                }
                if (refused instanceof IOException) {
                    // perhaps the epoch moved on meanwhile: ask again with the current one
                    try {
                        disk.adopt(attachments.of(externId));
                    } catch (IOException | UnknownDiskException stillNot) {
                        // asked again after the pause
                    }
                }
            }
            Thread.sleep(pause);
            pause = Math.min(LONGEST_PAUSE_MILLIS, pause * 2);
        }
    }
}
