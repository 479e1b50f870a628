package dev.sprig.api.recovery;

import java.util.Set;

/**
 * What a recovery works on, as its row holds it: column {@code column} of the family, whose member
 * on {@code oldNodeId} (down, or draining: then it stays in sync until the end) is being replaced
 * by {@code newNodeId}.
 *
 * @param filledLcIds the lcs whose fill has finished; a resumed run does not fill them again
 */
record Recovery(
        String operationId, long familyId, int column, String oldNodeId, String newNodeId, Set<Long> filledLcIds) {

    Recovery {
        filledLcIds = Set.copyOf(filledLcIds);
    }

    /** The operation's target: the set. */
    static String target(long familyId, int column) {
        return "rs-" + familyId + "-" + column;
    }
}
