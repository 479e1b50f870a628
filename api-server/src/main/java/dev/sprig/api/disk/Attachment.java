package dev.sprig.api.disk;

import dev.sprig.api.backend.StorageBackend.NodeAccess;
import java.util.List;

/**
 * Everything a client-agent needs to do I/O on a disk: its writable lc, the geometry, and the nodes
 * that hold its PCs (PC {@code i} on {@code nodes.get(i % nodes.size())}). The nodes carry their
 * control tokens: this is api-server's view, turned into data tokens before it is shown
 * ({@link AttachmentController}).
 */
public record Attachment(
        String externId, long lcId, long sizeBytes, long pcSizeBytes, int segmentSizeBytes, List<NodeAccess> nodes) {}
