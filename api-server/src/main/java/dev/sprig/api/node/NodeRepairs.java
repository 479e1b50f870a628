package dev.sprig.api.node;

import java.util.Map;

/**
 * How many segments of each node's copies the replica scrub repaired (issue 20), for the node
 * views. The scrub is {@code dev.sprig.api.recovery}'s, which implements this.
 */
public interface NodeRepairs {

    /** For every node that had a repair; a node absent had none. */
    Map<String, Long> repairedByNode();

    /** The repairs of one node's copies: a single node's view needs no count of the others'. */
    long repairedOn(String nodeId);
}
