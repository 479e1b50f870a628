package dev.sprig.engine;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.StampedLock;
import org.jspecify.annotations.Nullable;

/**
 * Self-healing primitives: what an lc itself holds ({@code ownSegments}), reading one of its own
 * data segments ({@code readOwnSegment}) and filling a segment it does not hold yet
 * ({@code fillSegment}), for a replica being rebuilt or caught up from another copy.
 *
 * <p>A fill of a writable lc takes the segment's stripe lock, as a write does, and materializes the
 * segment only if it is still unowned: a client write that got there first wins, and one that
 * comes later lands on the filled segment. A frozen lc may be filled too (a rebuild copies frozen
 * ancestors); its readers take no lock and read through the resolved-PC cache, so fills of one of
 * its PCs are serialized ({@link #frozenFills}: one lock per stripe of (lc, PC), so that fills of
 * other PCs write and fsync beside it), its bytes are written and fsynced under the shared lock, and
 * its metadata changes (and the cache entries of it and its frozen descendants for that PC are
 * dropped) under the exclusive lock, where no read or resolution is in flight. The bytes are durable
 * before the bit is set, so a checkpoint, which encodes frozen lcs after it releases the lock, never
 * records a segment whose bytes could still be lost, and the journal is forced before the fill
 * returns, so a fill of a frozen lc is durable on return.
 */
final class SegmentFiller {

    private final EngineState state;
    private final MetaStore metaStore;
    private final SegmentReader reader;
    private final SegmentWriter writer;
    private final WholeSegments wholeSegments;

    private static final int FROZEN_FILL_STRIPES = 64;

    /**
     * Fills and replacements of a frozen lc's PC, one at a time per stripe. One lock for the whole
     * engine let a rebuild target write and fsync one 4 MiB PC at a time, however many copies were
     * filling it.
     */
    private final ReentrantLock[] frozenFills = new ReentrantLock[FROZEN_FILL_STRIPES];

    SegmentFiller(
            EngineState state,
            MetaStore metaStore,
            SegmentReader reader,
            SegmentWriter writer,
            WholeSegments wholeSegments) {
        this.state = state;
        this.metaStore = metaStore;
        this.reader = reader;
        this.writer = writer;
        this.wholeSegments = wholeSegments;
        for (int i = 0; i < frozenFills.length; i++) {
            frozenFills[i] = new ReentrantLock();
        }
    }

    /** A PC's lock: the stripe of its first segment (a fill covers the PC's segments together). */
    private ReentrantLock frozenFills(Lc frozen, long pc) {
        return frozenFills[SegmentLocks.stripe(frozen.id, pc, 0, FROZEN_FILL_STRIPES)];
    }

    List<OwnedPc> ownSegments(long lcId, long firstPc, long pcCount) {
        Lock l = state.shared();
        try {
            Lc lc = state.lc(lcId);
            long pcs = Layout.pcCount(lc.size);
            if (firstPc < 0 || pcCount < 0 || firstPc > pcs - pcCount) {
                throw new OutOfRangeException(
                        "PCs [" + firstPc + ", +" + pcCount + ") are outside lc " + lcId + " of " + pcs + " PCs");
            }
            long end = firstPc + pcCount;
            // a narrow range (the usual one: a PC or a listing's batch) is looked up PC by PC, a wide
            // one by scanning what the lc holds, so that neither costs the lc's whole size
            long[] held = pcCount <= lc.pcs.size()
                    ? java.util.stream.LongStream.range(firstPc, end)
                            .filter(pc -> lc.pcs.containsKey(pc))
                            .toArray()
                    : lc.pcs.keySet().stream()
                            .mapToLong(Long::longValue)
                            .filter(pc -> pc >= firstPc && pc < end)
                            .sorted()
                            .toArray();
            List<OwnedPc> out = new ArrayList<>();
            for (long pc : held) {
                PcMeta meta = lc.pcs.get(pc);
                if (meta == null || meta.owned() == 0) {
                    continue;
                }
                SegmentState[] states = new SegmentState[Layout.SEGMENTS_PER_PC];
                int[][] crcs = new int[Layout.SEGMENTS_PER_PC][];
                for (int s = 0; s < Layout.SEGMENTS_PER_PC; s++) {
                    @Nullable StampedLock stripe = lc.frozen ? null : state.stripes.of(lc.id, pc, s);
                    long stamp = stripe != null ? stripe.readLock() : 0;
                    try {
                        states[s] = SegmentState.of(meta.state(s));
                        if (states[s] == SegmentState.DATA) {
                            crcs[s] = meta.crcs(s).clone();
                        }
                    } finally {
                        if (stripe != null) {
                            stripe.unlockRead(stamp);
                        }
                    }
                }
                out.add(new OwnedPc(pc, Arrays.asList(states), Arrays.asList(crcs)));
            }
            return out;
        } finally {
            l.unlock();
        }
    }

    SegmentState readOwnSegment(long lcId, long pc, int s, ByteBuffer dst) {
        checkBuffer(dst);
        Lock l = state.shared();
        try {
            Lc lc = state.lc(lcId);
            checkSegment(lc, pc, s);
            return readOwn(lc, pc, s, dst);
        } catch (IOException e) {
            throw new EngineIoException("read own segment of lc " + lcId, e);
        } finally {
            l.unlock();
        }
    }

    /**
     * The segments of {@code wanted} (bit {@code s}: segment {@code s}) that the lc holds as data,
     * each read into {@code dst[s]} and checked; a mask of those. A frozen lc's consecutive ones are
     * read in one request (nothing changes them but a fill, under the exclusive lock); a writable
     * lc's one by one, each under its stripe's read lock (two segments may share a stripe, and a
     * second read lock of one stripe could wait behind a writer queued after the first).
     */
    int readOwnSegments(long lcId, long pc, int wanted, ByteBuffer[] dst) {
        Lock l = state.shared();
        try {
            Lc lc = state.lc(lcId);
            for (int s = 0; s < Layout.SEGMENTS_PER_PC; s++) {
                if ((wanted & (1 << s)) != 0) {
                    checkSegment(lc, pc, s);
                    checkBuffer(dst[s]);
                }
            }
            int read = 0;
            if (!lc.frozen) {
                for (int s = 0; s < Layout.SEGMENTS_PER_PC; s++) {
                    if ((wanted & (1 << s)) != 0 && readOwn(lc, pc, s, dst[s]) == SegmentState.DATA) {
                        read |= 1 << s;
                    }
                }
                return read;
            }
            PcMeta meta = lc.pcs.get(pc);
            for (int s = 0; meta != null && s < Layout.SEGMENTS_PER_PC; s++) {
                if ((wanted & (1 << s)) != 0 && meta.state(s) == PcMeta.DATA) {
                    read |= 1 << s;
                }
            }
            for (int s = 0; s < Layout.SEGMENTS_PER_PC; ) {
                if ((read & (1 << s)) == 0) {
                    s++;
                    continue;
                }
                int end = s + 1;
                while (end < Layout.SEGMENTS_PER_PC && (read & (1 << end)) != 0) {
                    end++;
                }
                ByteBuffer[] segments = new ByteBuffer[Layout.SEGMENTS_PER_PC];
                for (int i = s; i < end; i++) {
                    segments[i] = dst[i].slice(dst[i].position(), Layout.SEGMENT_SIZE);
                }
                wholeSegments.readRun(lc, pc, s, end - s, dst);
                for (int i = s; i < end; i++) {
                    SegmentReader.verify(lc, pc, i, segments[i], Layout.SEGMENT_SIZE, meta.crcs(i), 0);
                }
                s = end;
            }
            return read;
        } catch (IOException e) {
            throw new EngineIoException("read own segments of lc " + lcId, e);
        } finally {
            l.unlock();
        }
    }

    /** Under the shared lock: the lc's own segment, read into {@code dst} and checked if it is data. */
    private SegmentState readOwn(Lc lc, long pc, int s, ByteBuffer dst) throws IOException {
        @Nullable StampedLock stripe = lc.frozen ? null : state.stripes.of(lc.id, pc, s);
        long stamp = stripe != null ? stripe.readLock() : 0;
        try {
            PcMeta meta = lc.pcs.get(pc);
            SegmentState st = SegmentState.of(meta != null ? meta.state(s) : PcMeta.UNOWNED);
            if (st == SegmentState.DATA) {
                // another replica's copy: read past the page cache (WholeSegments), then checked
                ByteBuffer segment = dst.slice(dst.position(), Layout.SEGMENT_SIZE);
                wholeSegments.read(lc, pc, s, dst);
                SegmentReader.verify(lc, pc, s, segment, Layout.SEGMENT_SIZE, meta.crcs(s), 0);
            }
            return st;
        } finally {
            if (stripe != null) {
                stripe.unlockRead(stamp);
            }
        }
    }

    /** {@code data} null: fill with zeros. */
    boolean fill(long lcId, long pc, int s, @Nullable ByteBuffer data) {
        return fill(lcId, pc, List.of(new SegmentFill(s, data))) != 0;
    }

    /** A mask of the segments filled (bit = segment number); the others were held already. */
    int fill(long lcId, long pc, List<SegmentFill> fills) {
        Lock l = state.shared();
        Lc lc;
        try {
            lc = state.lc(lcId);
            for (SegmentFill fill : fills) {
                checkSegment(lc, pc, fill.segment());
                if (fill.data() != null) {
                    checkBuffer(fill.data());
                }
            }
            state.durability.checkWritable();
            if (!lc.frozen) {
                int filled = 0;
                for (SegmentFill fill : fills) {
                    if (fillWritable(lc, pc, fill.segment(), fill.data())) {
                        filled |= 1 << fill.segment();
                    }
                }
                return filled;
            }
        } catch (IOException e) {
            throw IoFailure.of("fill lc " + lcId, e);
        } finally {
            l.unlock();
        }
        return fillFrozen(lc, pc, fills);
    }

    /**
     * Makes the segment the lc's own content ({@code data} null: zeros) whatever it held: for a
     * writable lc under the segment's stripe write lock, as a whole-segment write (a held data
     * segment is rewritten in place behind a dirty record, so a crash leaves CRCs that recovery
     * recomputes); for a frozen lc under the exclusive lock, see {@link #replaceFrozen}.
     */
    void replace(long lcId, long pc, int s, @Nullable ByteBuffer data) {
        replace(lcId, pc, s, null, data);
    }

    /**
     * {@link #replace}, only if the lc's own content of the segment is still {@code held} (checked
     * under the same lock as the replacement, so no write slips in between); false, changing
     * nothing, if it is not. Null {@code held}: whatever it holds.
     */
    boolean replace(long lcId, long pc, int s, @Nullable Held held, @Nullable ByteBuffer data) {
        if (data != null) {
            checkBuffer(data);
        }
        Lock l = state.shared();
        Lc lc;
        try {
            lc = state.lc(lcId);
            checkSegment(lc, pc, s);
            state.durability.checkWritable();
            if (!lc.frozen) {
                StampedLock stripe = state.stripes.of(lc.id, pc, s);
                long stamp = stripe.writeLock();
                try {
                    if (held != null && !held.matches(lc.pcs.get(pc), s)) {
                        return false;
                    }
                    if (data == null) {
                        writer.zero(lc, lc.pcForWrite(pc), pc, s);
                    } else {
                        writer.writeSegment(lc, pc, s, 0, data.slice(data.position(), Layout.SEGMENT_SIZE));
                        data.position(data.position() + Layout.SEGMENT_SIZE);
                    }
                } finally {
                    stripe.unlockWrite(stamp);
                }
                return true;
            }
        } catch (IOException e) {
            throw IoFailure.of("replace a segment of lc " + lcId, e);
        } finally {
            l.unlock();
        }
        return replaceFrozen(lc, pc, s, held, data);
    }

    /** What a guarded {@link #replace} expects the lc to hold itself: a state and, for data, its block CRCs. */
    record Held(SegmentState state, int @Nullable [] crcs) {

        boolean matches(@Nullable PcMeta meta, int s) {
            SegmentState now = SegmentState.of(meta == null ? PcMeta.UNOWNED : meta.state(s));
            if (now != state) {
                return false;
            }
            return now != SegmentState.DATA || java.util.Arrays.equals(meta.crcs(s), crcs);
        }
    }

    /**
     * A frozen lc's readers take no lock (they read through the resolved-PC cache), so a held
     * segment's bytes may be changed only where no read is in flight: under the exclusive lock,
     * bytes, fsync and metadata together. That stalls the engine's I/O for one segment's write, which
     * a catch-up pays only for a frozen segment that changed while its node was away. A dirty record
     * goes first, so a crash between the bytes and the new CRCs has recovery recompute them.
     */
    private boolean replaceFrozen(Lc frozen, long pc, int s, @Nullable Held held, @Nullable ByteBuffer data) {
        ReentrantLock fills = frozenFills(frozen, pc);
        fills.lock();
        try {
            Lock x = state.exclusive();
            try {
                state.live(frozen);
                if (held != null && !held.matches(frozen.pcs.get(pc), s)) {
                    return false;
                }
                PcMeta meta = frozen.pcForWrite(pc);
                long key = Lc.segmentKey(pc, s);
                if (data == null) {
                    metaStore.journal().append(new JournalRecord.Zero(frozen.id, pc, s));
                    meta.setZero(s);
                    frozen.pending.remove(key);
                } else {
                    ByteBuffer segment = data.slice(data.position(), Layout.SEGMENT_SIZE);
                    int[] crcs = new int[Layout.BLOCKS_PER_SEGMENT];
                    BlockCrc.ofBlocks(segment, 0, Layout.SEGMENT_SIZE, crcs, 0);
                    if (meta.state(s) == PcMeta.DATA) {
                        metaStore.journal().append(new JournalRecord.Dirty(frozen.id, pc, s));
                        metaStore.journal().force(state.durability);
                    }
                    SegmentWriter.writeFully(frozen, Layout.segmentOffset(pc, s), segment);
                    state.durability.force(frozen.channel(), false, "lc " + frozen.id);
                    long lsn = metaStore.journal().append(new JournalRecord.Materialize(frozen.id, pc, s, crcs));
                    meta.setData(s, crcs);
                    frozen.pending.put(key, lsn);
                }
                for (Lc lc : state.lcs.values()) {
                    if (lc.frozen && descendsFrom(lc, frozen)) {
                        state.resolvedPcs.invalidate(lc, pc);
                    }
                }
                metaStore.journal().force(state.durability);
            } finally {
                x.unlock();
            }
            if (data != null) {
                data.position(data.position() + Layout.SEGMENT_SIZE);
            }
            return true;
        } catch (IOException e) {
            throw IoFailure.of("replace a segment of lc " + frozen.id, e);
        } finally {
            fills.unlock();
        }
    }

    private boolean fillWritable(Lc lc, long pc, int s, @Nullable ByteBuffer data) throws IOException {
        StampedLock stripe = state.stripes.of(lc.id, pc, s);
        long stamp = stripe.writeLock();
        try {
            PcMeta meta = lc.pcForWrite(pc);
            if (meta.state(s) != PcMeta.UNOWNED) {
                return false;
            }
            if (data == null) {
                metaStore.journal().append(new JournalRecord.Zero(lc.id, pc, s));
                meta.setZero(s);
                lc.pending.remove(Lc.segmentKey(pc, s));
            } else {
                ByteBuffer segment = data.slice(data.position(), Layout.SEGMENT_SIZE);
                int[] crcs = new int[Layout.BLOCKS_PER_SEGMENT];
                BlockCrc.ofBlocks(segment, 0, Layout.SEGMENT_SIZE, crcs, 0);
                writer.materialize(lc, meta, pc, s, segment, crcs);
                data.position(data.position() + Layout.SEGMENT_SIZE);
            }
            return true;
        } finally {
            stripe.unlockWrite(stamp);
        }
    }

    /**
     * The fills of a frozen lc's PC together: every segment's bytes written, then one fsync of the
     * file, then every record and bit under one exclusive lock, then one force of the journal. A
     * rebuild fills frozen ancestors PC by PC; an fsync and an exclusive lock per segment made it
     * crawl (two fsyncs per 256 KiB, each stopping all I/O of the node for the metadata change).
     */
    private int fillFrozen(Lc frozen, long pc, List<SegmentFill> fills) {
        ReentrantLock pcFills = frozenFills(frozen, pc);
        pcFills.lock();
        try {
            int filled = 0;
            int[][] crcs = new int[Layout.SEGMENTS_PER_PC][];
            Lock l = state.shared();
            try {
                state.live(frozen);
                PcMeta meta = frozen.pcs.get(pc);
                ByteBuffer[] bytes = new ByteBuffer[Layout.SEGMENTS_PER_PC];
                for (SegmentFill fill : fills) {
                    int s = fill.segment();
                    if ((meta != null && meta.state(s) != PcMeta.UNOWNED) || (filled & (1 << s)) != 0) {
                        continue;
                    }
                    filled |= 1 << s;
                    ByteBuffer data = fill.data();
                    if (data != null) {
                        bytes[s] = data.slice(data.position(), Layout.SEGMENT_SIZE);
                        crcs[s] = new int[Layout.BLOCKS_PER_SEGMENT];
                        BlockCrc.ofBlocks(bytes[s], 0, Layout.SEGMENT_SIZE, crcs[s], 0);
                    }
                }
                // consecutive data segments in one write
                boolean wrote = false;
                for (int s = 0; s < Layout.SEGMENTS_PER_PC; ) {
                    if (bytes[s] == null) {
                        s++;
                        continue;
                    }
                    List<ByteBuffer> run = new ArrayList<>();
                    int first = s;
                    while (s < Layout.SEGMENTS_PER_PC && bytes[s] != null) {
                        run.add(bytes[s++]);
                    }
                    wholeSegments.writeRun(frozen, pc, first, run);
                    wrote = true;
                }
                if (wrote) {
                    state.durability.force(frozen.channel(), false, "lc " + frozen.id);
                }
            } finally {
                l.unlock();
            }
            if (filled == 0) {
                return 0;
            }
            Lock x = state.exclusive();
            try {
                state.live(frozen);
                PcMeta meta = frozen.pcForWrite(pc);
                for (int s = 0; s < Layout.SEGMENTS_PER_PC; s++) {
                    if ((filled & (1 << s)) == 0) {
                        continue;
                    }
                    if (crcs[s] == null) {
                        metaStore.journal().append(new JournalRecord.Zero(frozen.id, pc, s));
                        meta.setZero(s);
                    } else {
                        long lsn = metaStore.journal().append(new JournalRecord.Materialize(frozen.id, pc, s, crcs[s]));
                        meta.setData(s, crcs[s]);
                        frozen.pending.put(Lc.segmentKey(pc, s), lsn);
                    }
                }
                for (Lc lc : state.lcs.values()) {
                    if (lc.frozen && descendsFrom(lc, frozen)) {
                        state.resolvedPcs.invalidate(lc, pc);
                    }
                }
            } finally {
                x.unlock();
            }
            // the records are in the current journal, or in the one before, which the checkpoint that
            // switched journals forced: forcing the current one makes the fills durable
            Lock forcing = state.shared();
            try {
                metaStore.journal().force(state.durability);
            } finally {
                forcing.unlock();
            }
            for (SegmentFill fill : fills) {
                ByteBuffer data = fill.data();
                if (data != null && (filled & (1 << fill.segment())) != 0) {
                    data.position(data.position() + Layout.SEGMENT_SIZE);
                }
            }
            return filled;
        } catch (IOException e) {
            throw IoFailure.of("fill lc " + frozen.id, e);
        } finally {
            pcFills.unlock();
        }
    }

    private static boolean descendsFrom(Lc lc, Lc ancestor) {
        for (Lc at = lc; at != null; at = at.parent) {
            if (at == ancestor) {
                return true;
            }
        }
        return false;
    }

    private static void checkBuffer(ByteBuffer buf) {
        if (buf.remaining() < Layout.SEGMENT_SIZE) {
            throw new OutOfRangeException(
                    "a segment is " + Layout.SEGMENT_SIZE + " bytes; the buffer has " + buf.remaining());
        }
    }

    private static void checkSegment(Lc lc, long pc, int s) {
        if (s < 0
                || s >= Layout.SEGMENTS_PER_PC
                || pc < 0
                || pc >= Layout.pcCount(lc.size)
                || Layout.segmentOffset(pc, s) >= lc.size) {
            throw new OutOfRangeException(
                    "segment " + s + " of PC " + pc + " is outside lc " + lc.id + " of size " + lc.size);
        }
    }
}
