package dev.sprig.api.disk;

import dev.sprig.api.backend.StorageBackend;
import java.time.Instant;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Everything a client-agent needs to do I/O on a disk: its writable lc, the geometry, and an NBD
 * URI per node that holds its PCs (PC {@code i} on {@code nodes.get(i % nodes.size())}), each
 * opening only that lc, with {@code access}, until {@code expiresAt}. On the nodes backend,
 * {@code columns} lists every copy (decision 011) and {@code nodes} the preferred in-sync member of
 * each column, read-only where the column has more than one in-sync member.
 *
 * @param redundancy null where there are no replica sets (the embedded backend)
 * @param columns empty where there are no replica sets
 */
public record Attachment(
        String externId,
        long lcId,
        long sizeBytes,
        long pcSizeBytes,
        int segmentSizeBytes,
        Attachments.Access access,
        Instant expiresAt,
        List<NodeExport> nodes,
        @Nullable Redundancy redundancy,
        List<ColumnExport> columns) {

    public Attachment {
        nodes = List.copyOf(nodes);
        columns = List.copyOf(columns);
    }

    /** @param nbd {@code nbd://host:port/<dataToken>/<lcId>} */
    public record NodeExport(String nodeId, String nbd) {}

    /** Whether every member of every column is in sync. */
    public enum Redundancy {
        HEALTHY,
        DEGRADED;

        /** How the API spells it. */
        public String parameter() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** A replica set: PC {@code i} is in column {@code i % columns.size()}. */
    public record ColumnExport(int column, long epoch, List<MemberExport> members) {

        public ColumnExport {
            members = List.copyOf(members);
        }
    }

    /**
     * @param nbd for an in-sync member (and a rebuilding one in a read-write attachment), a URI whose
     *     token is for this column at this epoch; null for a stale one
     */
    public record MemberExport(
            String nodeId,
            StorageBackend.MemberState state,
            @Nullable String nbd) {

        public boolean inSync() {
            return state == StorageBackend.MemberState.IN_SYNC;
        }
    }
}
