package dev.sprig.api.recovery;

import java.util.Set;

/**
 * What a recovery works on, as its row holds it: column {@code column} of the family, whose member
 * on {@code oldNodeId} (down, or draining: then it stays in sync until the end) is being replaced
 * by {@code newNodeId}; or, when the two are the same node, whose stale member on that node, which
 * came back before it was replaced, is being caught up ({@link #catchUp()}).
 *
 * @param filledLcIds the lcs whose fill has finished; a resumed run does not fill them again
 */
record Recovery(
        String operationId, long familyId, int column, String oldNodeId, String newNodeId, Set<Long> filledLcIds) {

    Recovery {
        filledLcIds = Set.copyOf(filledLcIds);
    }

    /** Whether this is the catch-up of a member that returned, not a replacement. */
    boolean catchUp() {
        return oldNodeId.equals(newNodeId);
    }

    /** The operation's target: the set. */
    static String target(long familyId, int column) {
        return "rs-" + familyId + "-" + column;
    }
}
