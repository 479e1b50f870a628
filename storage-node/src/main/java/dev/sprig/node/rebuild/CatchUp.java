package dev.sprig.node.rebuild;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The catch-up state of an lc whose replica returns after missing writes (decision 012): which of
 * its segments are <em>suspect</em> (it may hold an old version of them, so they are treated as
 * if it did not hold them: replaced whole from the rebuild source before a write merges with them).
 * Until api-server has compared the inventories, the lc is <em>pending</em>: every segment in the
 * PCs of the column being caught up ({@code pc % columns == column}) is suspect. A segment made right
 * by a live write or a replacement is <em>cleaned</em> and never becomes suspect again: the write
 * it took is newer than anything the comparison saw.
 *
 * <p>Segments are numbered across the lc ({@code pc * 16 + segment}). Every decision and the
 * replacement it guards run under this object's monitor ({@link #replaceIfSuspect}), so a
 * replacement never lands after a write has cleaned the segment.
 */
public final class CatchUp {

    private final int column;
    private final int columns;
    private boolean pending = true;
    private final Set<Long> suspects = new HashSet<>();
    private final Set<Long> cleaned = new HashSet<>();

    /** Pending over the PCs of column {@code column} of {@code columns}. */
    public CatchUp(int column, int columns) {
        if (columns < 1 || column < 0 || column >= columns) {
            throw new IllegalArgumentException(
                    "a column is from 0 to columns - 1, columns at least 1; got " + column + " of " + columns);
        }
        this.column = column;
        this.columns = columns;
    }

    /** Whether the segment must be replaced from the source before anything merges with it. */
    public synchronized boolean suspect(long segment) {
        if (cleaned.contains(segment)) {
            return false;
        }
        return suspects.contains(segment) || (pending && inColumn(segment));
    }

    /**
     * Runs {@code replace} if the segment is still suspect, and then counts it clean; false, running
     * nothing, if it is not (cleaned meanwhile by a write or another replacement).
     */
    public synchronized boolean replaceIfSuspect(long segment, Runnable replace) {
        if (!suspect(segment)) {
            return false;
        }
        replace.run();
        suspects.remove(segment);
        cleaned.add(segment);
        return true;
    }

    /**
     * A write that covers the segment whole is about to land: no replacement may come after it.
     * Recorded only where it matters (pending, or suspect), so that a large write after the
     * comparison costs nothing here.
     */
    public synchronized void clean(long segment) {
        if (suspect(segment)) {
            suspects.remove(segment);
            cleaned.add(segment);
        }
    }

    /**
     * The comparison's result: {@code segments} are suspect, except those cleaned since; every
     * other segment is trusted from now on (pending ends).
     */
    public synchronized Marked markSuspects(Collection<Long> segments) {
        int marked = 0;
        int skipped = 0;
        for (long segment : new HashSet<>(segments)) {
            if (cleaned.contains(segment)) {
                skipped++;
            } else if (suspects.add(segment)) {
                marked++;
            }
        }
        pending = false;
        return new Marked(marked, skipped);
    }

    /** Segments made suspect, and named ones skipped because they were cleaned already. */
    public record Marked(int marked, int cleaned) {}

    /** The suspect segments, in order. */
    public synchronized List<Long> suspects() {
        List<Long> out = new ArrayList<>(suspects);
        out.sort(null);
        return out;
    }

    public int column() {
        return column;
    }

    public synchronized boolean pending() {
        return pending;
    }

    public synchronized int cleanedCount() {
        return cleaned.size();
    }

    private boolean inColumn(long segment) {
        return (segment / dev.sprig.engine.ChunkEngine.SEGMENTS_PER_PC) % columns == column;
    }
}
