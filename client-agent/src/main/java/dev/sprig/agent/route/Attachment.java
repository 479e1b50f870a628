package dev.sprig.agent.route;

import java.util.List;

/**
 * What api-server says a disk's I/O needs: its lc, its size, and the nodes holding its PCs. PC
 * {@code i} (bytes {@code [i * pcSizeBytes, (i + 1) * pcSizeBytes)}) lives on {@code nodes[i % nodes.size()]}.
 *
 * @param refreshAtMillis when to fetch the attachment again (epoch milliseconds): two thirds into
 *     the life of its data tokens, so that new connections never present an expired one;
 *     {@link Long#MAX_VALUE} for never
 */
public record Attachment(
        String externId, long lcId, long sizeBytes, long pcSizeBytes, List<NodeExport> nodes, long refreshAtMillis) {

    public Attachment {
        if (pcSizeBytes <= 0 || nodes.isEmpty()) {
            throw new IllegalArgumentException("attachment of " + externId + " has no PC size or no nodes");
        }
        nodes = List.copyOf(nodes);
    }

    /** An attachment whose tokens do not expire. */
    public Attachment(String externId, long lcId, long sizeBytes, long pcSizeBytes, List<NodeExport> nodes) {
        this(externId, lcId, sizeBytes, pcSizeBytes, nodes, Long.MAX_VALUE);
    }

    NodeExport nodeOf(long pcIndex) {
        return nodes.get((int) (pcIndex % nodes.size()));
    }

    /** This attachment's export on the node that {@code other} (of an earlier attachment) is on. */
    NodeExport sameNodeAs(NodeExport other) {
        return nodes.stream()
                .filter(node -> node.host().equals(other.host()) && node.port() == other.port())
                .findFirst()
                .orElse(other);
    }

    boolean refreshDue(long nowMillis) {
        return nowMillis >= refreshAtMillis;
    }
}
