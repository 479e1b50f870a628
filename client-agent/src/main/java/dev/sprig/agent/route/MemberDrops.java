package dev.sprig.agent.route;

import dev.sprig.client.DropMember;
import java.io.IOException;
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
 * request joins the report already under way. A report is one call: when api-server answers {@code
 * INSUFFICIENT_REPLICAS} (the member must stay) or cannot be reached, the report fails, and the
 * write that asked sends itself again to the member it could not drop ({@code ProxiedDisk}).
 */
final class MemberDrops {

    private static final Logger log = LoggerFactory.getLogger(MemberDrops.class);

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
    private final Map<Member, CompletableFuture<Attachment>> underWay = new ConcurrentHashMap<>();

    MemberDrops(Disk disk, Attachments attachments, Executor executor) {
        this.disk = disk;
        this.attachments = attachments;
        this.executor = executor;
    }

    /**
     * Drops {@code nodeId} from {@code column}: completes with an attachment in which it is no longer
     * {@code in_sync} nor {@code rebuilding} there, or exceptionally with an {@link
     * InsufficientReplicasException} (api-server keeps it) or an {@link IOException}.
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
                    mine.complete(dropOnce(member));
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

    private Attachment dropOnce(Member member) throws Exception {
        Attachment current = disk.attachment();
        String externId = current.externId();
        ReplicaColumn column =
                current.columns().get(member.column() % current.columns().size());
        if (!column.takesWrites(member.nodeId())) {
            return current; // dropped already (another agent, or api-server's own calls)
        }
        try {
            Attachment next =
                    attachments.dropMember(externId, new DropMember(member.column(), member.nodeId(), column.epoch()));
            log.warn(
                    "{}: dropped {} from column {} at epoch {}",
                    externId,
                    member.nodeId(),
                    member.column(),
                    column.epoch());
            return disk.adopt(next);
        } catch (IOException refused) {
            // perhaps the epoch moved on meanwhile: the next report asks with the current one
            try {
                disk.adopt(attachments.of(externId));
            } catch (IOException | UnknownDiskException stillNot) {
                // the next report tries again
            }
            throw refused;
        }
    }
}
