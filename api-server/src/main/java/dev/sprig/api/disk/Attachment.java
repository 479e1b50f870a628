package dev.sprig.api.disk;

import java.time.Instant;
import java.util.List;

/**
 * Everything a client-agent needs to do I/O on a disk: its writable lc, the geometry, and an NBD
 * URI per node that holds its PCs (PC {@code i} on {@code nodes.get(i % nodes.size())}), each
 * opening only that lc, with {@code access}, until {@code expiresAt}.
 */
public record Attachment(
        String externId,
        long lcId,
        long sizeBytes,
        long pcSizeBytes,
        int segmentSizeBytes,
        Attachments.Access access,
        Instant expiresAt,
        List<NodeExport> nodes) {

    /** @param nbd {@code nbd://host:port/<dataToken>/<lcId>} */
    public record NodeExport(String nodeId, String nbd) {}
}
