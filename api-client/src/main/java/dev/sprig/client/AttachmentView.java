package dev.sprig.client;

import java.time.Instant;
import java.util.List;

/**
 * {@code GET /v1/disks/{id}/attachment}: what a client-agent needs for I/O. PC {@code i} of the disk
 * lives on {@code nodes[i % nodes.size()]}; each node's NBD URI carries a data token that opens the
 * disk's lc there until {@code expiresAt}.
 *
 * @param access {@code read-write} or {@code read-only}
 */
public record AttachmentView(
        String externId,
        long lcId,
        long sizeBytes,
        long pcSizeBytes,
        int segmentSizeBytes,
        String access,
        Instant expiresAt,
        List<AttachmentNode> nodes) {}
