package dev.sprig.client;

import java.time.Instant;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * {@code GET /v1/disks/{id}/attachment}: what a client-agent needs for I/O. PC {@code i} of the disk
 * lives on {@code nodes[i % nodes.size()]}; each node's NBD URI carries a data token that opens the
 * disk's lc there until {@code expiresAt}. On the nodes backend {@code columns} lists every copy
 * (decision 011): writes go to every in-sync member of a PC's column, through {@code sprig-agent};
 * where a column has more than one member, its {@code nodes} entry is read-only.
 *
 * @param access {@code read-write} or {@code read-only}
 * @param redundancy {@code healthy} or {@code degraded}; null on the embedded backend (one copy)
 * @param columns the replica sets, in column order; empty on the embedded backend
 */
public record AttachmentView(
        String externId,
        long lcId,
        long sizeBytes,
        long pcSizeBytes,
        int segmentSizeBytes,
        String access,
        Instant expiresAt,
        List<AttachmentNode> nodes,
        @Nullable String redundancy,
        List<ReplicaColumnView> columns) {}
