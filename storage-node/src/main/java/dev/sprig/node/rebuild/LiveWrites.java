package dev.sprig.node.rebuild;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.engine.LcInfo;
import dev.sprig.engine.OwnedPc;
import dev.sprig.engine.SegmentState;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The node's live write path (NBD and HTTP alike): the engine's writes, preceded, on an lc that has
 * a {@link RebuildSource}, by the fills that keep a rebuilding member right (decision 012).
 *
 * <ul>
 *   <li>A write that covers only part of a segment the lc does not hold (unowned) would be merged by
 *       the engine with the lc's parent chain on this node, which a rebuild may not have filled yet.
 *       So that segment is first filled with the source's resolved bytes, then written. A write
 *       never covers only part of more than two segments (its first and last), so it costs at most
 *       two reads of one segment from the source, and only the first write into a segment does.
 *   <li>A zero write (WRITE_ZEROES, TRIM) also marks every whole segment it covers that the lc does
 *       not hold as zero, explicitly: the engine's own shortcut (nothing in the chain here, so it
 *       reads as zeros already: nothing to do) leaves it unowned, and the rebuild would later fill
 *       it with the source's older bytes.
 *   <li>On an lc being caught up ({@link CatchUp}), a segment it holds but that is <em>suspect</em>
 *       (it may be an old version: the replica missed writes) is treated as not held: a write that
 *       covers it in part first replaces it whole with the source's resolved bytes ({@link
 *       ChunkEngine#replaceSegment}), a write that covers it whole marks it clean first. Either way
 *       it is clean afterwards, and no later replacement touches it. Deciding and replacing happen
 *       under the catch-up's monitor, so of a write and a replacement racing for one segment only
 *       the first replaces; the fetch before it is outside any lock, as for a fill.
 * </ul>
 *
 * <p><b>Why here and not under the engine's segment lock.</b> The source is another node: holding
 * the segment's stripe lock (shared with other segments) and the engine's shared lock across an
 * HTTP read of up to a minute would stall every write hashed to that stripe, and every lineage
 * change and checkpoint waiting for the exclusive lock, behind which new reads and writes queue.
 * Correctness does not need it: a fill materializes the segment only while it is unowned, under the
 * segment's lock, and a live engine never makes a held segment unowned again. So once the fill
 * returns (having filled, or found the segment held by a concurrent write or fill), the write lands
 * on a held segment, in place, and is never merged with the chain; and a later fill, from here or
 * from the background copy, never overwrites it. Two concurrent writes into one segment may both
 * read the source; the second fill changes nothing.
 *
 * <p><b>Failures.</b> Every read from the source a write needs is done, and its segment filled,
 * before the write changes a byte. An lc may have several sources (the in-sync members of the
 * columns it is rebuilt in, {@link RebuildSources#set(long, java.util.List, RebuildSources.Columns)}):
 * a read that one of them fails is tried on the next, so that a source node that dies in the
 * middle of a rebuild costs no write. Only when every source fails does the write fail, with {@link
 * SourceUnreadableException}, and the written range is untouched (a segment filled before the
 * failure holds the source's bytes, which is what it reads as once the rebuild is done anyway).
 *
 * <p><b>Columns.</b> Sources set for some stripe columns only serve the PCs of those: in its other
 * columns the node is an in-sync member, its own chain is complete, and a write there merges with it
 * as the engine does (the source need not even be a member of those columns).
 */
public final class LiveWrites {

    private static final int SEGMENT = ChunkEngine.SEGMENT_SIZE;

    private final ChunkEngine engine;
    private final RebuildSources sources;
    private final SegmentSource source;

    public LiveWrites(ChunkEngine engine, RebuildSources sources, SegmentSource source) {
        this.engine = engine;
        this.sources = sources;
        this.source = source;
    }

    /** Whether a write to the lc may wait for its rebuild source (a read from another node). */
    public boolean mayFetch(long lcId) {
        return sources.of(lcId) != null;
    }

    /** Writes {@code src.remaining()} bytes at {@code offset}, as {@link ChunkEngine#write}. */
    public void write(long lcId, long offset, ByteBuffer src) {
        prepareWrite(lcId, offset, src.remaining());
        engine.write(lcId, offset, src);
    }

    /** Makes the range read as zeros, as {@link ChunkEngine#writeZeroes}. */
    public void writeZeroes(long lcId, long offset, long length) {
        prepareZeroes(lcId, offset, length);
        engine.writeZeroes(lcId, offset, length);
    }

    /** Discards the range, as {@link ChunkEngine#trim}: it reads back as zeros. */
    public void trim(long lcId, long offset, long length) {
        prepareZeroes(lcId, offset, length);
        engine.trim(lcId, offset, length);
    }

    /**
     * Fills, from the lc's rebuild source, the segments that a write of {@code [offset, offset +
     * length)} covers only in part and the lc does not hold; nothing on an lc without a source.
     * {@link #write} does this itself; a caller that writes one request in several pieces calls it
     * first for the whole request, so that a failing source fails the request before any piece is
     * written (and cuts its pieces on segment boundaries, so that no piece covers a segment the
     * request covers whole only in part).
     *
     * @throws SourceUnreadableException the source did not deliver a segment
     */
    public void prepareWrite(long lcId, long offset, long length) {
        Target target = target(lcId, offset, length);
        if (target != null) {
            fillPartialSegments(target, offset, length);
        }
    }

    private void fillPartialSegments(Target target, long offset, long length) {
        long end = offset + length;
        long first = offset / SEGMENT;
        long last = (end - 1) / SEGMENT;
        fillIfPartial(target, first, offset, end);
        if (last != first) {
            fillIfPartial(target, last, offset, end);
        }
        CatchUp catchUp = sources.catchUpOf(target.lcId());
        if (catchUp != null) {
            // the segments it covers whole: the write replaces them, no replacement may follow it
            for (long segment = first; segment <= last; segment++) {
                if (covers(target, segment, offset, end)) {
                    catchUp.clean(segment);
                }
            }
        }
    }

    /** What {@link #fillSuspects} did: segments replaced, found clean meanwhile, bytes fetched for them. */
    public record Replaced(long segmentsReplaced, long segmentsSkipped, long bytesCopied) {}

    /**
     * Replaces every suspect segment of an lc being caught up with its source's resolved bytes (a
     * segment that reads as zeros there becomes an explicit zero mark), in order, at most {@code
     * bytesPerSecond} fetched a second (0: unthrottled); one cleaned by a live write meanwhile is
     * skipped. Works on frozen lcs too. The lc is flushed at the end.
     *
     * @throws IllegalStateException the lc is not being caught up
     * @throws SourceUnreadableException the source did not deliver a segment
     */
    public Replaced fillSuspects(long lcId, long bytesPerSecond) {
        List<RebuildSource> from = sources.allOf(lcId);
        CatchUp catchUp = sources.catchUpOf(lcId);
        if (from.isEmpty() || catchUp == null) {
            throw new IllegalStateException("lc " + lcId + " is not being caught up on this node");
        }
        long size = engine.info(lcId).sizeBytes();
        long replaced = 0;
        long skipped = 0;
        long bytes = 0;
        long started = System.nanoTime();
        for (long segment : catchUp.suspects()) {
            if (segment * SEGMENT >= size) {
                skipped++;
                continue;
            }
            ByteBuffer data = fetch(from, segment, size);
            bytes += SEGMENT;
            boolean zero = data.mismatch(ByteBuffer.allocate(SEGMENT)) == -1;
            long pc = pcOf(segment);
            int s = indexOf(segment);
            boolean done = catchUp.replaceIfSuspect(segment, () -> {
                if (zero) {
                    engine.replaceZeroSegment(lcId, pc, s);
                } else {
                    engine.replaceSegment(lcId, pc, s, data);
                }
            });
            if (done) {
                replaced++;
            } else {
                skipped++;
            }
            throttle(started, bytes, bytesPerSecond);
        }
        engine.flush(lcId);
        return new Replaced(replaced, skipped, bytes);
    }

    private static void throttle(long started, long bytes, long bytesPerSecond) {
        if (bytesPerSecond <= 0) {
            return;
        }
        long wait = started + (long) (bytes * 1e9 / bytesPerSecond) - System.nanoTime();
        if (wait > 0) {
            try {
                Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new SourceUnreadableException("the catch-up fill was interrupted");
            }
        }
    }

    private void prepareZeroes(long lcId, long offset, long length) {
        Target target = target(lcId, offset, length);
        if (target == null) {
            return;
        }
        // the partial segments first: they may fail, and then nothing of the range has changed
        fillPartialSegments(target, offset, length);
        long end = offset + length;
        for (long segment = offset / SEGMENT; segment <= (end - 1) / SEGMENT; segment++) {
            if (covers(target, segment, offset, end) && serves(target, pcOf(segment))) {
                // does nothing where the lc holds the segment: the engine's zero write then zeroes it
                engine.fillZeroSegment(lcId, pcOf(segment), indexOf(segment));
            }
        }
    }

    /** The lc and its source, when a write of the range needs anything of this class; else null. */
    private @Nullable Target target(long lcId, long offset, long length) {
        List<RebuildSource> from = sources.allOf(lcId);
        if (from.isEmpty() || length <= 0) {
            return null;
        }
        LcInfo info = engine.info(lcId);
        if (info.frozen() || offset < 0 || offset > info.sizeBytes() - length) {
            return null; // the engine refuses the write itself, as it does without a source
        }
        return new Target(lcId, info.sizeBytes(), from, sources.columnsOf(lcId));
    }

    /** @param columns the columns its sources serve; null for all */
    private record Target(
            long lcId, long sizeBytes, List<RebuildSource> from, RebuildSources.@Nullable Columns columns) {}

    /** Whether PC {@code pc} of the target is being rebuilt (needs its sources), not in sync here. */
    private static boolean serves(Target target, long pc) {
        return target.columns() == null || target.columns().has(pc);
    }

    private void fillIfPartial(Target target, long segment, long offset, long end) {
        if (covers(target, segment, offset, end)) {
            return;
        }
        long pc = pcOf(segment);
        int s = indexOf(segment);
        if (!serves(target, pc)) {
            return;
        }
        CatchUp catchUp = sources.catchUpOf(target.lcId());
        if (catchUp != null && catchUp.suspect(segment)) {
            ByteBuffer bytes = fetch(target.from(), segment, target.sizeBytes());
            if (catchUp.replaceIfSuspect(segment, () -> engine.replaceSegment(target.lcId(), pc, s, bytes))) {
                return;
            }
            // no longer suspect: replaced meanwhile (then held, and this fill does nothing), or the
            // catch-up's comparison found it right while pending, which may mean unowned here as on the
            // source: then, as in any rebuild, the write must not merge with this node's chain, whose
            // ancestors may still be suspect or unfilled; the fill takes only an unowned segment
            engine.fillSegment(target.lcId(), pc, s, bytes);
            return;
        }
        if (stateOf(target.lcId(), pc, s) != SegmentState.UNOWNED) {
            return;
        }
        engine.fillSegment(target.lcId(), pc, s, fetch(target.from(), segment, target.sizeBytes()));
    }

    /**
     * The resolved bytes of the segment from the first of the sources to deliver them, in a whole
     * segment's buffer (zeros past the lc's end).
     */
    private ByteBuffer fetch(List<RebuildSource> from, long segment, long sizeBytes) {
        @Nullable SourceUnreadableException failed = null;
        for (RebuildSource one : from) {
            try {
                return fetch(one, segment, sizeBytes);
            } catch (SourceUnreadableException unreadable) {
                failed = unreadable;
            }
        }
        throw Objects.requireNonNull(failed);
    }

    private ByteBuffer fetch(RebuildSource from, long segment, long sizeBytes) {
        long start = segment * SEGMENT;
        // the last segment of an lc whose size is not a multiple of a segment is read up to the end
        int length = (int) Math.min(SEGMENT, sizeBytes - start);
        ByteBuffer bytes = ByteBuffer.allocate(SEGMENT);
        source.read(from, start, bytes.limit(length));
        if (bytes.hasRemaining()) {
            throw new SourceUnreadableException("the rebuild source " + from + " delivered " + bytes.position()
                    + " of the " + length + " bytes at " + start);
        }
        return bytes.clear();
    }

    /** Whether {@code [offset, end)} covers the segment whole (the last one of the lc up to its end). */
    private static boolean covers(Target target, long segment, long offset, long end) {
        long start = segment * SEGMENT;
        return offset <= start && end >= Math.min(start + SEGMENT, target.sizeBytes());
    }

    private SegmentState stateOf(long lcId, long pc, int s) {
        for (OwnedPc owned : engine.ownSegments(lcId, pc, 1)) {
            if (owned.pc() == pc) {
                return owned.state(s);
            }
        }
        return SegmentState.UNOWNED;
    }

    private static long pcOf(long segment) {
        return segment / ChunkEngine.SEGMENTS_PER_PC;
    }

    private static int indexOf(long segment) {
        return (int) (segment % ChunkEngine.SEGMENTS_PER_PC);
    }
}
