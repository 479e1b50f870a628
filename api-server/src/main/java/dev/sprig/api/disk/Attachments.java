package dev.sprig.api.disk;

import dev.sprig.api.SprigApiProperties;
import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.backend.StorageBackend.NodeAccess;
import dev.sprig.api.backend.StorageBackend.ReplicaColumn;
import dev.sprig.api.backend.StorageBackend.ReplicaMember;
import dev.sprig.api.disk.Attachment.ColumnExport;
import dev.sprig.api.disk.Attachment.MemberExport;
import dev.sprig.api.disk.Attachment.NodeExport;
import dev.sprig.api.error.SprigException;
import dev.sprig.api.lineage.Resource;
import dev.sprig.api.lineage.ResourceRepository;
import dev.sprig.engine.ChunkEngine;
import dev.sprig.node.access.DataAccess;
import dev.sprig.node.access.DataGrant;
import dev.sprig.node.access.DataTokens;
import dev.sprig.node.access.ReplicaEpoch;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;
import org.springframework.stereotype.Service;

/**
 * Attachments: where a disk's bytes are and a data token per node that opens the disk's lc there,
 * and nothing else, until the token expires. The node token, with which api-server controls a
 * node, never leaves api-server; the data tokens are signed with a key derived from it, so the node
 * checks them without asking anyone.
 */
@Service
public class Attachments {

    /** What an attachment lets its holder do; named as clients ask for it. */
    public enum Access {
        READ_WRITE("read-write", DataAccess.READ_WRITE),
        READ_ONLY("read-only", DataAccess.READ);

        private final String parameter;
        private final DataAccess rights;

        Access(String parameter, DataAccess rights) {
            this.parameter = parameter;
            this.rights = rights;
        }

        /** The access named {@code read-write} or {@code read-only}; an invalid argument otherwise. */
        public static Access named(String name) {
            for (Access access : values()) {
                if (access.parameter.equals(name)) {
                    return access;
                }
            }
            throw SprigException.invalidArgument("access must be read-write or read-only");
        }

        public String parameter() {
            return parameter;
        }
    }

    private final DiskService disks;
    private final WriteHolders writers;
    private final StorageBackend backend;
    private final Duration tokenLifetime;
    private final Clock clock = Clock.systemUTC();

    Attachments(DiskService disks, WriteHolders writers, StorageBackend backend, SprigApiProperties properties) {
        this.disks = disks;
        this.writers = writers;
        this.backend = backend;
        this.tokenLifetime = properties.attachments().tokenLifetime();
    }

    /**
     * What a client-agent needs for I/O on the disk, as of now (a snapshot moves the disk to a new
     * lc). I/O goes on while the disk is being flattened. A read-write attachment takes or renews
     * {@code holder}'s write lease until its tokens expire ({@link WriteHolders}).
     *
     * @param requestHost the host name the client reached api-server by: the NBD host of a node that
     *     has none of its own (the embedded one, served by this very process)
     */
    public Attachment attach(String diskId, Access access, String holder, String requestHost) {
        Instant expiresAt = expiresAt();
        Resource disk =
                attachable(access == Access.READ_WRITE ? writers.open(diskId, holder, expiresAt) : disks.get(diskId));
        long lcId = Objects.requireNonNull(disk.lcId());
        List<ReplicaColumn> columns = backend.replicasOf(lcId);
        if (columns.isEmpty()) {
            return singleCopy(disk, lcId, access, expiresAt, requestHost);
        }
        return replicated(disk, lcId, columns, access, expiresAt, requestHost);
    }

    /**
     * A client-agent's report that member {@code nodeId} of column {@code column} failed a write
     * made with the set as of {@code epoch} (decision 011): the member is dropped, the remaining
     * members fenced, and the answer is the disk's attachment as it is then, which the agent writes
     * again with. A report from an older epoch, or about a stale member, drops nothing.
     */
    public Attachment dropMember(
            String diskId, Access access, String holder, String requestHost, int column, String nodeId, long epoch) {
        Instant expiresAt = expiresAt();
        // the answer's tokens run to expiresAt, and its holder's lease with them
        Resource disk =
                attachable(access == Access.READ_WRITE ? writers.open(diskId, holder, expiresAt) : disks.get(diskId));
        long lcId = Objects.requireNonNull(disk.lcId());
        List<ReplicaColumn> columns = backend.dropMember(lcId, column, nodeId, epoch);
        return replicated(disk, lcId, columns, access, expiresAt, requestHost);
    }

    /** The disk, if I/O may be done on it now; an invalid state otherwise. */
    static Resource attachable(Resource disk) {
        String diskId = disk.externId();
        if (!disk.state().equals("available") && !disk.state().equals(ResourceRepository.FLATTENING)) {
            throw SprigException.invalidState("disk " + diskId + " is " + disk.state() + ", not available");
        }
        return disk;
    }

    /** The embedded backend: one copy, tokens fenced by nothing (version 1). */
    private Attachment singleCopy(Resource disk, long lcId, Access access, Instant expiresAt, String requestHost) {
        DataGrant grant = new DataGrant(lcId, access.rights, expiresAt);
        return attachment(
                disk,
                lcId,
                access,
                expiresAt,
                backend.placementOf(lcId).stream()
                        .map(node -> new NodeExport(node.nodeId(), nbdUri(node, grant, requestHost)))
                        .toList(),
                null,
                List.of());
    }

    /**
     * Replica sets: a token per in-sync member and column, at the column's epoch (version 2), one for
     * a rebuilding member in a read-write attachment (the agent only writes to it), none for a stale
     * member. The flat list has each column's preferred member, read-only where the
     * column has more than one in-sync member: a plain NBD client writing to one copy would make the
     * copies differ.
     */
    private Attachment replicated(
            Resource disk,
            long lcId,
            List<ReplicaColumn> columns,
            Access access,
            Instant expiresAt,
            String requestHost) {
        List<NodeExport> nodes = new ArrayList<>(columns.size());
        List<ColumnExport> exports = new ArrayList<>(columns.size());
        for (ReplicaColumn column : columns) {
            ReplicaEpoch epoch = new ReplicaEpoch(column.familyId(), column.column(), column.columns(), column.epoch());
            DataGrant grant = new DataGrant(lcId, access.rights, expiresAt, epoch);
            List<MemberExport> members = new ArrayList<>(column.members().size());
            for (ReplicaMember member : column.members()) {
                // a rebuilding member takes the writes of a read-write attachment and nothing else
                // (decision 012); a read-only one has nothing to send it
                boolean uri = member.inSync() || (member.rebuilding() && access == Access.READ_WRITE);
                members.add(new MemberExport(
                        member.node().nodeId(),
                        member.state(),
                        uri ? nbdUri(member.node(), grant, requestHost) : null));
            }
            exports.add(new ColumnExport(column.column(), column.epoch(), members));
            String preferred = column.preferred();
            if (preferred == null) {
                throw SprigException.invalidState(
                        "column " + column.column() + " of disk " + disk.externId() + " has no in-sync member");
            }
            NodeAccess node = column.members().stream()
                    .map(ReplicaMember::node)
                    .filter(candidate -> candidate.nodeId().equals(preferred))
                    .findFirst()
                    .orElseThrow();
            DataGrant flat = column.inSyncCount() > 1 ? new DataGrant(lcId, DataAccess.READ, expiresAt, epoch) : grant;
            nodes.add(new NodeExport(node.nodeId(), nbdUri(node, flat, requestHost)));
        }
        return attachment(disk, lcId, access, expiresAt, nodes, DiskReplication.redundancy(columns), exports);
    }

    private static Attachment attachment(
            Resource disk,
            long lcId,
            Access access,
            Instant expiresAt,
            List<NodeExport> nodes,
            Attachment.@Nullable Redundancy redundancy,
            List<ColumnExport> columns) {
        return new Attachment(
                disk.externId(),
                lcId,
                disk.sizeBytes(),
                ChunkEngine.PC_SIZE,
                ChunkEngine.SEGMENT_SIZE,
                access,
                expiresAt,
                nodes,
                redundancy,
                columns);
    }

    /** Whole seconds: the token carries its expiry in seconds, and the answer says the same instant. */
    private Instant expiresAt() {
        return Instant.ofEpochSecond(clock.instant().plus(tokenLifetime).getEpochSecond());
    }

    /** {@code nbd://host:port/<dataToken>/<lcId>}, the export name the node's NBD server checks. */
    private static String nbdUri(NodeAccess node, DataGrant grant, String requestHost) {
        String host = node.nbdHost() == null ? requestHost : node.nbdHost();
        if (host.contains(":") && !host.startsWith("[")) {
            host = "[" + host + "]"; // an IPv6 literal
        }
        String token = DataTokens.forNodeToken(node.token()).sign(grant);
        return "nbd://" + host + ":" + node.nbdPort() + "/" + token + "/" + grant.lcId();
    }
}
