package dev.sprig.api.placement;

/**
 * The epoch a member of column {@code column} of family {@code familyId} must fence at: data tokens
 * for the set issued at an older epoch are refused there.
 */
public record Fence(long familyId, int column, long epoch) {}
