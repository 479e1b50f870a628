package dev.sprig.agent.route;

import java.util.List;

/**
 * One stripe column of a disk: the replica set holding PCs {@code i} with {@code i % columns ==
 * column} (decision 011). Writes go to every member of {@code inSync}; a read to one of them.
 *
 * @param epoch the set's epoch the members' tokens were issued at; 0 for a column made from the
 *     flat {@code nodes} list (nothing is fenced there)
 * @param stale the ids of members dropped from the set: kept for logs, they serve nothing
 */
public record ReplicaColumn(int column, long epoch, List<ReplicaMember> inSync, List<String> stale) {

    public ReplicaColumn {
        if (inSync.isEmpty()) {
            throw new IllegalArgumentException("column " + column + " has no in-sync member");
        }
        inSync = List.copyOf(inSync);
        stale = List.copyOf(stale);
    }

    /** The member reads try first: column {@code c} prefers position {@code c % members}, spreading reads. */
    int preferred() {
        return column % inSync.size();
    }

    boolean hasInSync(String nodeId) {
        for (ReplicaMember member : inSync) {
            if (member.nodeId().equals(nodeId)) {
                return true;
            }
        }
        return false;
    }
}
