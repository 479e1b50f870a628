package dev.sprig.api.recovery;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.api.backend.ReplicaCopies.HeldSegment;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which segments a catch-up names suspect: those whose inventory entries differ, in order. */
class CatchUpWorkTest {

    @Test
    void segmentsHeldByOneOnlyOrAsDifferentStatesOrCrcsDifferAndAreNumberedAcrossTheLc() {
        List<HeldSegment> source = List.of(
                new HeldSegment(0, 1, false, List.of(1, 2)), // the same on both
                new HeldSegment(0, 2, false, List.of(1, 2)), // other CRCs on the member
                new HeldSegment(3, 0, true, List.of()), // zeros here, data there
                new HeldSegment(3, 15, false, List.of(7))); // only here
        List<HeldSegment> member = List.of(
                new HeldSegment(0, 1, false, List.of(1, 2)),
                new HeldSegment(0, 2, false, List.of(1, 3)),
                new HeldSegment(3, 0, false, List.of(0)),
                new HeldSegment(6, 4, true, List.of())); // only on the member

        assertThat(CatchUpWork.differing(source, member)).containsExactly(2L, 48L, 63L, 100L);
        assertThat(CatchUpWork.differing(source, source)).isEmpty();
    }
}
