package dev.sprig.api.recovery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.api.backend.ReplicaCopies.HeldSegment;
import dev.sprig.api.recovery.ReplicaComparison.Finding;
import dev.sprig.api.recovery.ReplicaComparison.Reason;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Which member's copy of a segment the replica scrub repairs, from whom, and when it will not guess. */
class ReplicaComparisonTest {

    private static final HeldSegment GOOD = new HeldSegment(1, 2, false, List.of(10, 11));
    private static final HeldSegment OLD = new HeldSegment(1, 2, false, List.of(10, 99));
    private static final HeldSegment ZERO = new HeldSegment(1, 2, true, List.of());
    private static final long SEGMENT = 1 * 16 + 2;

    private static Map<String, Map<Long, HeldSegment>> held(Object... memberThenCopy) {
        Map<String, Map<Long, HeldSegment>> held = new LinkedHashMap<>();
        for (int i = 0; i < memberThenCopy.length; i += 2) {
            HeldSegment copy = (HeldSegment) memberThenCopy[i + 1];
            held.put((String) memberThenCopy[i], copy == null ? Map.of() : Map.of(SEGMENT, copy));
        }
        return held;
    }

    @Test
    void aCopyThatRottedOnDiskIsRepairedFromAnIntactMemberEvenWhenOnlyTwoAreInSync() {
        List<Finding> findings = ReplicaComparison.compare(held("a", GOOD, "b", GOOD), Map.of("a", Set.of(SEGMENT)));

        assertThat(findings).containsExactly(new Finding(SEGMENT, "a", Reason.DAMAGED, GOOD, GOOD, "b"));
    }

    @Test
    void aCopyThatDiffersFromTheMajorityIsRepairedFromTheMajority() {
        assertThat(ReplicaComparison.compare(held("a", GOOD, "b", OLD, "c", GOOD), Map.of()))
                .containsExactly(new Finding(SEGMENT, "b", Reason.DIFFERED, OLD, GOOD, "a"));
        assertThat(ReplicaComparison.compare(held("a", ZERO, "b", null, "c", ZERO), Map.of()))
                .as("a member that lacks the segment gets the majority's zeros")
                .containsExactly(new Finding(SEGMENT, "b", Reason.DIFFERED, null, ZERO, "a"));
    }

    @Test
    void theSourceIsAMajorityMemberWhoseOwnCopyIsIntact() {
        assertThat(ReplicaComparison.compare(held("a", GOOD, "b", OLD, "c", GOOD), Map.of("a", Set.of(SEGMENT))))
                .containsExactly(
                        new Finding(SEGMENT, "a", Reason.DAMAGED, GOOD, GOOD, "c"),
                        new Finding(SEGMENT, "b", Reason.DIFFERED, OLD, GOOD, "c"));
    }

    @Test
    void withoutAStrictMajorityOrAnIntactCopyOrWhenTheMajorityHoldsNothingNothingIsGuessed() {
        assertThat(ReplicaComparison.compare(held("a", GOOD, "b", OLD), Map.of()))
                .extracting(Finding::nodeId, Finding::resolved)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple("a", false),
                        org.assertj.core.groups.Tuple.tuple("b", false));
        assertThat(ReplicaComparison.compare(
                        held("a", GOOD, "b", GOOD), Map.of("a", Set.of(SEGMENT), "b", Set.of(SEGMENT))))
                .as("every copy rotted")
                .allSatisfy(finding -> assertThat(finding.resolved()).isFalse())
                .hasSize(2);
        assertThat(ReplicaComparison.compare(held("a", null, "b", GOOD, "c", null), Map.of()))
                .as("a segment only one member holds cannot be taken away from it")
                .containsExactly(new Finding(SEGMENT, "b", Reason.DIFFERED, GOOD, null, null));
    }

    @Test
    void membersThatAgreeAndAreIntactNeedNothing() {
        assertThat(ReplicaComparison.compare(held("a", GOOD, "b", GOOD, "c", GOOD), Map.of()))
                .isEmpty();
        assertThat(ReplicaComparison.compare(held("a", ZERO, "b", ZERO), Map.of("a", Set.of(SEGMENT))))
                .as("a zero segment stores no bytes to rot")
                .isEmpty();
        assertThat(ReplicaComparison.compare(held("a", GOOD, "b", GOOD), Map.of("z", Set.of(SEGMENT))))
                .as("damage on a node that is not a member here")
                .isEmpty();
    }
}
