package dev.sprig.node.fence;

import dev.sprig.node.access.ReplicaEpoch;

/** One replica set: stripe column {@code column} of family {@code familyId}, what a fence is kept for. */
public record ReplicaSet(long familyId, int column) {

    public ReplicaSet {
        if (familyId <= 0) {
            throw new IllegalArgumentException("a family id is positive: " + familyId);
        }
        if (column < 0 || column >= ReplicaEpoch.MAX_COLUMNS) {
            throw new IllegalArgumentException(
                    "a column is between 0 and " + (ReplicaEpoch.MAX_COLUMNS - 1) + ": " + column);
        }
    }

    /** The set a data token writes through. */
    public static ReplicaSet of(ReplicaEpoch token) {
        return new ReplicaSet(token.familyId(), token.column());
    }
}
