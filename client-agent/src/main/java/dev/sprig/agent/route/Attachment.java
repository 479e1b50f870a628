package dev.sprig.agent.route;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What api-server says a disk's I/O needs: its lc, its size, and the replica sets holding its PCs.
 * PC {@code i} (bytes {@code [i * pcSizeBytes, (i + 1) * pcSizeBytes)}) is in column {@code i %
 * columns.size()}, a copy on every {@code in_sync} member of it (decision 011), and one being
 * filled on every {@code rebuilding} member (issue 20).
 *
 * @param replicated whether the columns are api-server's replica sets, whose failed members the
 *     agent reports and so drops; false for an attachment of flat {@code nodes} alone (the embedded
 *     backend, or an api-server without replica sets), each node a column of one that nothing drops
 * @param refreshAtMillis when to fetch the attachment again (epoch milliseconds): two thirds into
 *     the life of its data tokens, so that new connections never present an expired one;
 *     {@link Long#MAX_VALUE} for never
 */
public record Attachment(
        String externId,
        long lcId,
        long sizeBytes,
        long pcSizeBytes,
        List<ReplicaColumn> columns,
        boolean replicated,
        long refreshAtMillis) {

    public Attachment {
        if (pcSizeBytes <= 0 || columns.isEmpty()) {
            throw new IllegalArgumentException("attachment of " + externId + " has no PC size or no nodes");
        }
        columns = List.copyOf(columns);
    }

    /** An attachment of flat nodes (PC {@code i} on {@code nodes[i % n]}) whose tokens do not expire. */
    public Attachment(String externId, long lcId, long sizeBytes, long pcSizeBytes, List<NodeExport> nodes) {
        this(externId, lcId, sizeBytes, pcSizeBytes, flat(nodes), false, Long.MAX_VALUE);
    }

    /** Each node a column of one member, named by where it is. */
    static List<ReplicaColumn> flat(List<NodeExport> nodes) {
        List<ReplicaColumn> columns = new ArrayList<>(nodes.size());
        for (NodeExport node : nodes) {
            columns.add(new ReplicaColumn(
                    columns.size(), 0, List.of(new ReplicaMember(node.host() + ":" + node.port(), node)), List.of()));
        }
        return columns;
    }

    ReplicaColumn columnOf(long pcIndex) {
        return columns.get((int) (pcIndex % columns.size()));
    }

    /** The export a PC's reads try first. */
    NodeExport nodeOf(long pcIndex) {
        ReplicaColumn column = columnOf(pcIndex);
        return column.inSync().get(column.preferred()).export();
    }

    /**
     * Every node of the disk that takes writes ({@code in_sync} or {@code rebuilding} in some
     * column) once, with the export of the first column it is in: what a flush asks.
     */
    List<ReplicaMember> nodes() {
        Map<String, ReplicaMember> nodes = new LinkedHashMap<>();
        for (ReplicaColumn column : columns) {
            for (ReplicaMember member : column.writers()) {
                nodes.putIfAbsent(member.nodeId(), member);
            }
        }
        return List.copyOf(nodes.values());
    }

    /** This attachment's export on the node that {@code other} (of an earlier attachment) is on. */
    NodeExport sameNodeAs(NodeExport other) {
        for (ReplicaColumn column : columns) {
            for (ReplicaMember member : column.inSync()) {
                NodeExport node = member.export();
                if (node.host().equals(other.host()) && node.port() == other.port()) {
                    return node;
                }
            }
        }
        return other;
    }

    /**
     * Whether this attachment may replace {@code current}: one of another lc does (a snapshot moved
     * the disk), one of the same lc only if no column's epoch went back (an answer that overtook a
     * drop must not bring the dropped member back).
     */
    boolean supersedes(Attachment current) {
        if (lcId != current.lcId || columns.size() != current.columns.size()) {
            return true;
        }
        for (int c = 0; c < columns.size(); c++) {
            if (columns.get(c).epoch() < current.columns.get(c).epoch()) {
                return false;
            }
        }
        return true;
    }

    boolean refreshDue(long nowMillis) {
        return nowMillis >= refreshAtMillis;
    }
}
