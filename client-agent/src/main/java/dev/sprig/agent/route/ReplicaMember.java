package dev.sprig.agent.route;

/** An {@code in_sync} member of a replica set: the node, and its export of the disk's lc for this column. */
public record ReplicaMember(String nodeId, NodeExport export) {}
