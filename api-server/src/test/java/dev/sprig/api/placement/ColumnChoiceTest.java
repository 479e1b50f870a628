package dev.sprig.api.placement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sprig.api.placement.ReplicaSet.Member;
import dev.sprig.api.placement.ReplicaSet.State;
import java.util.HashSet;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class ColumnChoiceTest {

    @Test
    void eachColumnStartsAtItsOwnNodeAndTakesTheNextOnesRoundTheList() {
        assertThat(ColumnChoice.choose(List.of("a", "b", "c", "d"), 3, 3))
                .containsExactly(List.of("a", "b", "c"), List.of("b", "c", "d"), List.of("c", "d", "a"));
    }

    @Test
    void fewerNodesThanTheStripeWidthMakeFewerColumns() {
        assertThat(ColumnChoice.choose(List.of("a", "b"), 3, 1)).containsExactly(List.of("a"), List.of("b"));
    }

    @Test
    void fewerNodesThanReplicasIsNoPlacement() {
        assertThatThrownBy(() -> ColumnChoice.choose(List.of("a", "b"), 3, 3))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void membersOfAColumnAreDistinctAndEachColumnStartsAtAnotherNode() {
        for (int nodes = 1; nodes <= 12; nodes++) {
            for (int width = 1; width <= 8; width++) {
                for (int replicas = 1; replicas <= Math.min(nodes, 5); replicas++) {
                    List<String> ids =
                            IntStream.range(0, nodes).mapToObj(i -> "n" + i).toList();
                    List<List<String>> sets = ColumnChoice.choose(ids, width, replicas);

                    String what = nodes + " nodes, width " + width + ", " + replicas + " replicas";
                    assertThat(sets).as(what).hasSize(Math.min(width, nodes));
                    for (int column = 0; column < sets.size(); column++) {
                        assertThat(new HashSet<>(sets.get(column))).as(what).hasSize(replicas);
                        assertThat(sets.get(column).get(0)).as(what).isEqualTo(ids.get(column));
                    }
                }
            }
        }
    }

    @Test
    void readsOfAColumnStartAtTheMemberAtTheColumnsPositionAndSkipStaleOnes() {
        var set = new ReplicaSet(
                7,
                1,
                2,
                List.of(
                        new Member("a", 0, State.IN_SYNC),
                        new Member("b", 1, State.STALE),
                        new Member("c", 2, State.IN_SYNC)));

        assertThat(set.readOrder()).containsExactly("c", "a");
        assertThat(set.inSyncNodeIds()).containsExactly("a", "c");
        assertThat(set.hasInSync("b")).isFalse();
    }
}
