package dev.sprig.node.access;

/**
 * The replica set a data token writes through, and the epoch it was issued at: column
 * {@code column} of the {@code columns} stripe columns of family {@code familyId} (PC {@code i} of
 * the family's lcs is in column {@code i % columns}). A node holding that replica set refuses the
 * token once its fence for the set is past {@code epoch} (a member was dropped since), and refuses
 * it for PCs of other columns (decision 011).
 */
public record ReplicaEpoch(long familyId, int column, int columns, long epoch) {

    /** Stripe columns fit in a token's two bytes; api-server caps a stripe far lower. */
    public static final int MAX_COLUMNS = 0xFFFF;

    public ReplicaEpoch {
        if (familyId <= 0 || epoch <= 0) {
            throw new IllegalArgumentException("family ids and epochs are positive: " + familyId + ", " + epoch);
        }
        if (columns < 1 || columns > MAX_COLUMNS || column < 0 || column >= columns) {
            throw new IllegalArgumentException("column " + column + " of " + columns);
        }
    }

    /** Whether PC {@code pcIndex} of the family is in this token's column. */
    public boolean holdsPc(long pcIndex) {
        return pcIndex % columns == column;
    }
}
