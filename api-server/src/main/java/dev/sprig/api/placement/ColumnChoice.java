package dev.sprig.api.placement;

import java.util.ArrayList;
import java.util.List;

/**
 * Decision 011's choice of a new family's replica sets among the nodes that may take it, already in
 * order (most free space first, then id): {@code min(stripeWidth, nodes)} columns; column {@code c}
 * takes {@code replicas} nodes from position {@code c} on, round the list. The columns share the load
 * (each starts at another node) and the members of one column are distinct (there are at least
 * {@code replicas} nodes).
 */
final class ColumnChoice {

    private ColumnChoice() {}

    /**
     * The members of each column, by position; the caller has made sure that there are at least
     * {@code replicas} nodes.
     */
    static List<List<String>> choose(List<String> nodeIds, int stripeWidth, int replicas) {
        if (replicas < 1 || nodeIds.size() < replicas) {
            throw new IllegalArgumentException(replicas + " replicas need as many nodes; there are " + nodeIds.size());
        }
        int n = nodeIds.size();
        int columns = Math.min(stripeWidth, n);
        List<List<String>> sets = new ArrayList<>(columns);
        for (int column = 0; column < columns; column++) {
            List<String> members = new ArrayList<>(replicas);
            for (int position = 0; position < replicas; position++) {
                members.add(nodeIds.get((column + position) % n));
            }
            sets.add(List.copyOf(members));
        }
        return List.copyOf(sets);
    }
}
