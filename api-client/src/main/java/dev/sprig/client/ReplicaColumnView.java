package dev.sprig.client;

import java.util.List;

/**
 * One stripe column of a disk on the nodes backend: a replica set of nodes each holding a copy of
 * the column's PCs (PC {@code i} of the disk is in column {@code i % columns.size()}), and the
 * set's epoch, which goes up by one whenever a member is dropped (decision 011).
 */
public record ReplicaColumnView(int column, long epoch, List<ReplicaMemberView> members) {}
