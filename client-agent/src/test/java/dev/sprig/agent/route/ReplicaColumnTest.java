package dev.sprig.agent.route;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Which in-sync member a column's reads try first. */
class ReplicaColumnTest {

    static final List<String> NODES = List.of("node0", "node1", "node2", "node3");

    @Test
    void aMemberThatLeavesTheSetMovesOnlyTheReadsOfTheColumnsThatPreferredIt() {
        for (int c = 0; c < 64; c++) {
            List<String> members = membersOf(c);
            String before = preferredOf(c, members);
            for (String leaving : members) {
                List<String> rest = new ArrayList<>(members);
                rest.remove(leaving);
                if (!leaving.equals(before)) {
                    assertThat(preferredOf(c, rest))
                            .as("column %d of %s without %s", c, members, leaving)
                            .isEqualTo(before);
                }
            }
        }
    }

    @Test
    void theOrderOfTheMembersDoesNotChangeWhichOneIsPreferred() {
        for (int c = 0; c < 64; c++) {
            List<String> members = membersOf(c);
            List<String> reversed = new ArrayList<>(members);
            Collections.reverse(reversed);
            assertThat(preferredOf(c, reversed)).isEqualTo(preferredOf(c, members));
        }
    }

    @Test
    void columnsOnTheSameMembersSpreadTheirReadsOverAllOfThem() {
        List<String> members = NODES.subList(0, 3);
        int[] reads = new int[members.size()];
        for (int c = 0; c < 300; c++) {
            reads[members.indexOf(preferredOf(c, members))]++;
        }
        for (int r : reads) {
            assertThat(r)
                    .as("columns preferring each of %s: %s", members, Arrays.toString(reads))
                    .isBetween(70, 130);
        }
    }

    @Test
    void threeColumnsOnThreeMembersDoNotAllReadFromOne() {
        Set<String> preferred = new HashSet<>();
        for (int c = 0; c < 3; c++) {
            preferred.add(preferredOf(c, NODES.subList(0, 3)));
        }
        assertThat(preferred).hasSizeGreaterThan(1);
    }

    /** Three of the four nodes, a different three for consecutive columns. */
    private static List<String> membersOf(int column) {
        List<String> members = new ArrayList<>(NODES);
        members.remove(column % NODES.size());
        return members;
    }

    private static String preferredOf(int column, List<String> members) {
        List<ReplicaMember> inSync = members.stream()
                .map(id -> new ReplicaMember(id, new NodeExport("127.0.0.1", 10809, id + "/42")))
                .toList();
        ReplicaColumn replicaColumn = new ReplicaColumn(column, 1, inSync, List.of());
        return inSync.get(replicaColumn.preferred()).nodeId();
    }
}
