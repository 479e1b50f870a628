package dev.sprig.nodeapi;

/**
 * A replica set's fence on a node: data tokens for column {@code column} of family {@code familyId}
 * issued at an epoch below {@code epoch} are refused.
 */
public record FenceView(long familyId, int column, long epoch) {}
