package dev.sprig.api.placement;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.api.placement.ReplicaSet.Member;
import dev.sprig.api.placement.ReplicaSet.State;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The rebuild sources of a new member (decision 012), on the placement four nodes and three columns
 * give: column c on the nodes from c on, round the list. n4 replaces a dead n2 in column 0 while it
 * is in sync in columns 1 and 2.
 */
class RebuildSourcesTest {

    static final List<ReplicaSet> FAMILY = List.of(
            set(
                    0,
                    member("n1", 0, State.IN_SYNC),
                    member("n2", 1, State.STALE),
                    member("n3", 2, State.IN_SYNC),
                    member("n4", 3, State.REBUILDING)),
            set(1, member("n2", 0, State.STALE), member("n3", 1, State.IN_SYNC), member("n4", 2, State.IN_SYNC)),
            set(2, member("n3", 0, State.IN_SYNC), member("n4", 1, State.IN_SYNC), member("n1", 2, State.IN_SYNC)));

    @Test
    void theSourcesServeTheRebuiltColumnOnlyFromEachOfItsInSyncMembersInReadOrder() {
        ReplicaSets.RebuildSources sources = ReplicaSets.rebuildSources(FAMILY, "n4", -1);

        assertThat(sources.columns()).containsExactly(0);
        assertThat(sources.nodeIds()).containsExactly("n1", "n3");
    }

    @Test
    void aColumnAboutToBeJoinedCountsAsRebuilt() {
        ReplicaSets.RebuildSources sources = ReplicaSets.rebuildSources(FAMILY, "n2", 1);

        assertThat(sources.columns()).containsExactly(1);
        assertThat(sources.nodeIds()).containsExactly("n4", "n3");
    }

    @Test
    void theSingleSourceOfACatchUpMustBeInSyncInEveryColumnTheNodeWrites() {
        // n1 is not in column 1, n3 is in sync in all three: the one source a catch-up could have
        assertThat(ReplicaSets.rebuildSource(FAMILY, "n4", -1)).contains("n3");
    }

    private static ReplicaSet set(int column, Member... members) {
        return new ReplicaSet(7, column, 3, List.of(members));
    }

    private static Member member(String nodeId, int position, State state) {
        return new Member(nodeId, position, state);
    }
}
