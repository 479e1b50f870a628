package dev.sprig.node.rebuild;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.jspecify.annotations.Nullable;

/**
 * The rebuild source of each lc being rebuilt on this node, set and removed by api-server, and for
 * an lc being caught up (its replica returned after missing writes) its {@link CatchUp} state. Kept
 * in memory only: a node that restarts has none, and api-server, which records which members are
 * rebuilding, sets them again. Between the restart and that, a live write into a segment the lc
 * does not hold would be merged with the node's own, incomplete, parent chain; decision 012 says
 * how api-server keeps such writes away (it fences the member before it trusts it again).
 */
public final class RebuildSources {

    /**
     * The stripe columns (of {@code count}) whose PCs an lc is being rebuilt in: only there does a
     * partial write need its source. In its other columns the node is in sync, its own chain is
     * complete, and a write merges with it as on any lc.
     */
    public record Columns(Set<Integer> rebuilding, int count) {

        public Columns {
            rebuilding = Set.copyOf(rebuilding);
            if (count < 1 || rebuilding.isEmpty() || rebuilding.stream().anyMatch(c -> c < 0 || c >= count)) {
                throw new IllegalArgumentException("columns " + rebuilding + " of " + count);
            }
        }

        boolean has(long pc) {
            return rebuilding.contains((int) (pc % count));
        }
    }

    /**
     * @param sources in the order to try them: the next one answers when one fails (a source node
     *     dies in the middle of a rebuild), so any of them must read as the lc should
     * @param columns the columns they serve; null for every column
     */
    private record Entry(
            List<RebuildSource> sources,
            @Nullable Columns columns,
            @Nullable CatchUp catchUp) {}

    private final ConcurrentMap<Long, Entry> sources = new ConcurrentHashMap<>();

    /**
     * Makes {@code source} the lc's rebuild source, replacing any it had. A catch-up the lc is in
     * goes on: its suspect segments are still suspect, whoever sets the source.
     */
    public void set(long lcId, RebuildSource source) {
        set(lcId, List.of(source), null);
    }

    /**
     * Makes {@code inOrder} the lc's rebuild sources for the PCs of {@code columns} (null: all),
     * replacing any it had; a catch-up goes on, as with {@link #set(long, RebuildSource)}.
     */
    public void set(long lcId, List<RebuildSource> inOrder, @Nullable Columns columns) {
        if (inOrder.isEmpty()) {
            throw new IllegalArgumentException("no rebuild source for lc " + lcId);
        }
        List<RebuildSource> copy = List.copyOf(inOrder);
        sources.compute(lcId, (id, old) -> new Entry(copy, columns, old == null ? null : old.catchUp()));
    }

    /**
     * Makes {@code source} the lc's rebuild source for a catch-up of column {@code column} of
     * {@code columns}: a fresh {@link CatchUp}, pending, replacing any source or catch-up it had.
     */
    public CatchUp setCatchUp(long lcId, RebuildSource source, int column, int columns) {
        CatchUp catchUp = new CatchUp(column, columns);
        sources.put(lcId, new Entry(List.of(source), null, catchUp));
        return catchUp;
    }

    /** The lc's (first) rebuild source, or null while it is not being rebuilt. */
    public @Nullable RebuildSource of(long lcId) {
        Entry entry = sources.get(lcId);
        return entry == null ? null : entry.sources().get(0);
    }

    /** The lc's rebuild sources in the order to try them; empty while it is not being rebuilt. */
    public List<RebuildSource> allOf(long lcId) {
        Entry entry = sources.get(lcId);
        return entry == null ? List.of() : entry.sources();
    }

    /** The columns the lc's rebuild sources serve; null for all (or none set). */
    public @Nullable Columns columnsOf(long lcId) {
        Entry entry = sources.get(lcId);
        return entry == null ? null : entry.columns();
    }

    /** The lc's catch-up state, or null while it is not being caught up. */
    public @Nullable CatchUp catchUpOf(long lcId) {
        Entry entry = sources.get(lcId);
        return entry == null ? null : entry.catchUp();
    }

    /**
     * Forgets the lc's rebuild source if it is in a catch-up of column {@code column}, or is a plain
     * one (an lc defined while the catch-up ran gets a plain source, and nothing else would remove
     * it: every first partial write of the in-sync member would then still read from the old source,
     * and fail once that node is gone); false, changing nothing, otherwise. The end of one catch-up
     * must not remove the next one's, which may have been set (for another column) before the first
     * one's clean-up got here.
     */
    public boolean removeCatchUp(long lcId, int column) {
        boolean[] removed = {false};
        sources.computeIfPresent(lcId, (id, entry) -> {
            CatchUp catchUp = entry.catchUp();
            if (catchUp == null || catchUp.column() == column) {
                removed[0] = true;
                return null;
            }
            return entry;
        });
        return removed[0];
    }

    /** Forgets the lc's rebuild source (and catch-up); false if it had none. */
    public boolean remove(long lcId) {
        return sources.remove(lcId) != null;
    }
}
