package dev.sprig.api.node;

import java.util.Map;

/**
 * How many replica sets each node is a member of, and how many of those have a member that is not in sync (stale or rebuilding)
 * (decision 011), for the node views. The sets are {@code dev.sprig.api.placement}'s, which
 * implements this: placement depends on the registry, not the reverse.
 */
public interface ReplicaMembership {

    /**
     * @param degradedReplicaSets of {@code replicaSets}, those with at least one member not in sync
     * @param rebuildingReplicaSets of {@code replicaSets}, those in which this node's own member is
     *     rebuilding (being filled from another member)
     */
    record Counts(long replicaSets, long degradedReplicaSets, long rebuildingReplicaSets) {

        public static final Counts NONE = new Counts(0, 0, 0);
    }

    /** For every node that is a member of some set; a node absent is a member of none. */
    Map<String, Counts> byNode();

    Counts of(String nodeId);

    /** Replica sets with at least one member not in sync, of all nodes. */
    long degradedSets();

    /** Replica sets with a member being rebuilt, of all nodes. */
    long rebuildingSets();
}
