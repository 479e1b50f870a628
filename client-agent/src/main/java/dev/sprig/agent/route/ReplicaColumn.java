package dev.sprig.agent.route;

import java.util.ArrayList;
import java.util.List;

/**
 * One stripe column of a disk: the replica set holding PCs {@code i} with {@code i % columns ==
 * column} (decision 011). Writes go to every member of {@code inSync} and of {@code rebuilding};
 * a read to one member of {@code inSync}, never to a rebuilding one.
 *
 * @param epoch the set's epoch the members' tokens were issued at; 0 for a column made from the
 *     flat {@code nodes} list (nothing is fenced there)
 * @param rebuilding members being filled by a background copy (issue 20): they take every write,
 *     and one that fails is dropped like an in-sync one, but they serve no reads
 * @param stale the ids of members dropped from the set (or in a state the agent does not know):
 *     kept for logs, they serve nothing
 */
public record ReplicaColumn(
        int column, long epoch, List<ReplicaMember> inSync, List<ReplicaMember> rebuilding, List<String> stale) {

    public ReplicaColumn {
        if (inSync.isEmpty()) {
            throw new IllegalArgumentException("column " + column + " has no in-sync member");
        }
        inSync = List.copyOf(inSync);
        rebuilding = List.copyOf(rebuilding);
        stale = List.copyOf(stale);
    }

    /** A column without rebuilding members. */
    public ReplicaColumn(int column, long epoch, List<ReplicaMember> inSync, List<String> stale) {
        this(column, epoch, inSync, List.of(), stale);
    }

    /**
     * The position in {@code inSync} of the member reads try first: the one that weighs most for
     * this column (rendezvous hashing), so that columns spread their reads over the members, and a
     * member that leaves the set moves only its own columns' reads. A position-based choice
     * ({@code column % members}) moved most columns to another member when one left, each to a
     * page cache holding nothing of the disk, and reads while a dead member's copies were rebuilt
     * ran from cold caches.
     */
    int preferred() {
        int best = 0;
        long bestWeight = Long.MIN_VALUE;
        for (int i = 0; i < inSync.size(); i++) {
            long weight = weight(column, inSync.get(i).nodeId());
            if (weight > bestWeight) {
                best = i;
                bestWeight = weight;
            }
        }
        return best;
    }

    /** A well-mixed weight of a node for a column (the finalizer of SplitMix64 over both). */
    static long weight(int column, String nodeId) {
        long h = nodeId.hashCode() * 0x9E3779B97F4A7C15L + column;
        h = (h ^ (h >>> 30)) * 0xBF58476D1CE4E5B9L;
        h = (h ^ (h >>> 27)) * 0x94D049BB133111EBL;
        return h ^ (h >>> 31);
    }

    /** Every member a write, zeroing or trim goes to: the in-sync ones, then the rebuilding ones. */
    List<ReplicaMember> writers() {
        if (rebuilding.isEmpty()) {
            return inSync;
        }
        List<ReplicaMember> writers = new ArrayList<>(inSync.size() + rebuilding.size());
        writers.addAll(inSync);
        writers.addAll(rebuilding);
        return writers;
    }

    /** Whether {@code nodeId} takes this column's writes (in sync or rebuilding): a failure of it is to be dropped. */
    boolean takesWrites(String nodeId) {
        for (ReplicaMember member : writers()) {
            if (member.nodeId().equals(nodeId)) {
                return true;
            }
        }
        return false;
    }
}
