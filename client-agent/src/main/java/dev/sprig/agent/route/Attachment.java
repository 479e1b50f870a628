package dev.sprig.agent.route;

import java.util.List;

/**
 * What api-server says a disk's I/O needs: its lc, its size, and the nodes holding its PCs. PC
 * {@code i} (bytes {@code [i * pcSizeBytes, (i + 1) * pcSizeBytes)}) lives on {@code nodes[i % nodes.size()]}.
 */
public record Attachment(String externId, long lcId, long sizeBytes, long pcSizeBytes, List<NodeExport> nodes) {

    public Attachment {
        if (pcSizeBytes <= 0 || nodes.isEmpty()) {
            throw new IllegalArgumentException("attachment of " + externId + " has no PC size or no nodes");
        }
        nodes = List.copyOf(nodes);
    }

    NodeExport nodeOf(long pcIndex) {
        return nodes.get((int) (pcIndex % nodes.size()));
    }
}
