package dev.sprig.client;

import java.util.List;

/**
 * Where a disk on the nodes backend keeps its copies.
 *
 * @param redundancy {@code healthy} when every column has all its members in sync, else {@code degraded}
 */
public record DiskReplicas(String redundancy, List<ReplicaColumnView> columns) {}
