package dev.sprig.engine;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.Arrays;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.StampedLock;

/**
 * The write path: rewrites owned segments in place (a dirty record first), redirects the first
 * write to any other segment (the whole merged segment, then its materialize record, then its bit)
 * and zeroes or trims ranges (zero marks for whole segments).
 */
final class SegmentWriter {

    private static final int ZERO_BLOCK_CRC = BlockCrc.of(SegmentReader.ZEROS, 0, Layout.BLOCK_SIZE);

    private final EngineState state;
    private final MetaStore metaStore;
    private final SegmentReader reader;
    private final EngineConfig config;
    private final Durability durability;
    private final SegmentLocks stripes;
    private final ResolvedPcs resolvedPcs;
    private final WholeSegments wholeSegments;

    SegmentWriter(EngineState state, MetaStore metaStore, SegmentReader reader, WholeSegments wholeSegments) {
        this.state = state;
        this.metaStore = metaStore;
        this.reader = reader;
        this.config = state.config;
        this.durability = state.durability;
        this.stripes = state.stripes;
        this.resolvedPcs = state.resolvedPcs;
        this.wholeSegments = wholeSegments;
    }

    static void writeFully(Lc lc, long position, ByteBuffer buf) throws IOException {
        writeFully(lc, lc.channel(), position, buf);
    }

    /** Writes all of {@code buf} at {@code position} of the lc's file opened as {@code ch}. */
    static void writeFully(Lc lc, FileChannel ch, long position, ByteBuffer buf) throws IOException {
        long pos = position;
        try {
            while (buf.hasRemaining()) {
                pos += ch.write(buf, pos);
            }
        } catch (IOException e) {
            lc.writeFailed();
            throw e;
        }
    }

    /**
     * Whether every segment a write of the range touches is held by the writable lc as data, so the
     * write rewrites in place (no parent read, no new segment). Advisory: read without locks, and
     * the lc may change before the write.
     */
    boolean rewritesInPlace(long lcId, long offset, int length) {
        Lc lc = state.lcs.get(lcId);
        if (lc == null
                || lc.frozen
                || lc.directWritesInFlight() > 0
                || length <= 0
                || offset < 0
                || offset > lc.size - length) {
            return false;
        }
        for (long segNo = offset >>> Layout.SEGMENT_SHIFT;
                segNo <= (offset + length - 1) >>> Layout.SEGMENT_SHIFT;
                segNo++) {
            PcMeta meta = lc.pcs.get(Layout.pcOf(segNo));
            if (meta == null || meta.state(Layout.segmentOf(segNo)) != PcMeta.DATA) {
                return false;
            }
        }
        return true;
    }

    void write(long lcId, long offset, ByteBuffer src) {
        Lock l = state.shared();
        try {
            Lc lc = state.writable(lcId, "write");
            EngineState.checkRange(lc, offset, src.remaining());
            durability.checkWritable();
            long pos = offset;
            while (src.hasRemaining()) {
                int inSegment = (int) (pos & (Layout.SEGMENT_SIZE - 1));
                int n = Math.min(src.remaining(), Layout.SEGMENT_SIZE - inSegment);
                long segNo = pos >>> Layout.SEGMENT_SHIFT;
                long pc = Layout.pcOf(segNo);
                int s = Layout.segmentOf(segNo);
                StampedLock stripe = stripes.of(lc.id, pc, s);
                long stamp = stripe.writeLock();
                try {
                    writeSegment(lc, pc, s, inSegment, src.slice(src.position(), n));
                } finally {
                    stripe.unlockWrite(stamp);
                }
                src.position(src.position() + n);
                pos += n;
            }
        } catch (IOException e) {
            throw IoFailure.of("write lc " + lcId, e);
        } finally {
            l.unlock();
        }
    }

    /** Under the segment's write lock. {@code piece} has position 0. */
    void writeSegment(Lc lc, long pc, int s, int inSegment, ByteBuffer piece) throws IOException {
        PcMeta meta = lc.pcForWrite(pc);
        if (meta.state(s) == PcMeta.DATA) {
            writeInPlace(lc, meta, pc, s, inSegment, piece);
        } else {
            redirect(lc, meta, pc, s, inSegment, piece);
        }
    }

    /**
     * Rewrites part of an owned segment. The dirty record goes to the journal before the data
     * changes, so recovery knows to recompute this segment's CRCs instead of reporting the unflushed
     * bytes as corruption. Partial 4 KiB blocks are merged with their (verified) old content.
     */
    private void writeInPlace(Lc lc, PcMeta meta, long pc, int s, int inSegment, ByteBuffer piece) throws IOException {
        long key = Lc.segmentKey(pc, s);
        if (!lc.pending.containsKey(key)) {
            long lsn = metaStore.journal().append(new JournalRecord.Dirty(lc.id, pc, s));
            if (config.syncDirtyMarks()) {
                metaStore.journal().force(durability);
            }
            lc.pending.put(key, lsn);
        }
        int[] crcs = meta.crcs(s);
        int n = piece.remaining();
        int first = inSegment & -Layout.BLOCK_SIZE;
        int end = (inSegment + n + Layout.BLOCK_SIZE - 1) & -Layout.BLOCK_SIZE;
        int[] fresh = new int[(end - first) >> Layout.BLOCK_SHIFT];
        long fileOffset = Layout.segmentOffset(pc, s) + first;
        if (n == Layout.SEGMENT_SIZE) {
            BlockCrc.ofBlocks(piece, 0, n, fresh, 0);
            wholeSegments.write(lc, pc, s, piece);
        } else if (first == inSegment && end == inSegment + n) {
            BlockCrc.ofBlocks(piece, 0, n, fresh, 0);
            writeFully(lc, fileOffset, piece.duplicate());
        } else {
            ByteBuffer scratch = WholeSegments.scratch().limit(end - first);
            if (first < inSegment) {
                readBlock(lc, pc, s, crcs, first, scratch, 0);
            }
            int lastBlock = end - Layout.BLOCK_SIZE;
            if (inSegment + n < end && !(first < inSegment && lastBlock == first)) {
                readBlock(lc, pc, s, crcs, lastBlock, scratch, lastBlock - first);
            }
            scratch.put(inSegment - first, piece, 0, n);
            BlockCrc.ofBlocks(scratch, 0, end - first, fresh, 0);
            writeFully(lc, fileOffset, scratch.duplicate());
        }
        System.arraycopy(fresh, 0, crcs, first >> Layout.BLOCK_SHIFT, fresh.length);
    }

    private void readBlock(Lc lc, long pc, int s, int[] crcs, int blockStart, ByteBuffer into, int at)
            throws IOException {
        ByteBuffer block = into.slice(at, Layout.BLOCK_SIZE);
        SegmentReader.readFully(lc, Layout.segmentOffset(pc, s) + blockStart, block.duplicate());
        SegmentReader.verify(lc, pc, s, block, Layout.BLOCK_SIZE, crcs, blockStart);
    }

    /**
     * First write to a segment this lc does not hold as data (unowned: redirect from the chain;
     * zero: data over a zero mark). Builds the whole merged segment, writes it, and only then
     * appends the materialize record and sets the bit, so the bit never points at a partial segment.
     */
    private void redirect(Lc lc, PcMeta meta, long pc, int s, int inSegment, ByteBuffer piece) throws IOException {
        state.redirects.increment();
        int n = piece.remaining();
        if (n == Layout.SEGMENT_SIZE) {
            int[] crcs = new int[Layout.BLOCKS_PER_SEGMENT];
            BlockCrc.ofBlocks(piece, 0, n, crcs, 0);
            materialize(lc, meta, pc, s, piece, crcs);
            return;
        }
        Lc parent = lc.parent;
        boolean unowned = meta.state(s) == PcMeta.UNOWNED;
        ResolvedPc resolved = unowned && parent != null ? resolvedPcs.of(parent, pc) : null;
        Lc owner = resolved != null ? resolved.owners()[s] : null;
        int[] ownerCrcs = resolved != null ? resolved.crcs()[s] : null;
        if (owner == null && unowned && wholeSegments.readsFilesOfBlocks() && lc.unownedRangesAreHoles()) {
            materializeOverHole(lc, meta, pc, s, inSegment, piece);
            return;
        }
        ByteBuffer segment = WholeSegments.scratch();
        // the blocks the write leaves alone keep the CRCs their bytes were just verified against
        int[] crcs;
        if (owner != null && ownerCrcs != null) {
            readAncestorSegment(owner, pc, s, ownerCrcs, segment);
            crcs = ownerCrcs.clone();
        } else {
            segment.put(0, SegmentReader.ZEROS, 0, Layout.SEGMENT_SIZE);
            crcs = new int[Layout.BLOCKS_PER_SEGMENT];
            Arrays.fill(crcs, ZERO_BLOCK_CRC);
        }
        segment.put(inSegment, piece, 0, n);
        int first = inSegment & -Layout.BLOCK_SIZE;
        int end = (inSegment + n + Layout.BLOCK_SIZE - 1) & -Layout.BLOCK_SIZE;
        BlockCrc.ofBlocks(segment, first, end - first, crcs, first >> Layout.BLOCK_SHIFT);
        materialize(lc, meta, pc, s, segment, crcs);
    }

    /**
     * A first write where nothing in the chain holds data (the segment reads as zeros) and the lc's
     * file is known to hold a hole there: only the blocks the write touches are written, and the
     * rest of the segment stays a hole that reads as the zeros its CRCs name. A fresh clone of a
     * sparse image otherwise writes a whole 256 KiB segment per 4 KiB first write, on every copy.
     */
    private void materializeOverHole(Lc lc, PcMeta meta, long pc, int s, int inSegment, ByteBuffer piece)
            throws IOException {
        int n = piece.remaining();
        int first = inSegment & -Layout.BLOCK_SIZE;
        int end = (inSegment + n + Layout.BLOCK_SIZE - 1) & -Layout.BLOCK_SIZE;
        ByteBuffer blocks = WholeSegments.scratch().limit(end - first);
        if (first < inSegment || inSegment + n < end) {
            blocks.put(0, SegmentReader.ZEROS, 0, end - first);
        }
        blocks.put(inSegment - first, piece, 0, n);
        int[] crcs = new int[Layout.BLOCKS_PER_SEGMENT];
        Arrays.fill(crcs, ZERO_BLOCK_CRC);
        BlockCrc.ofBlocks(blocks, 0, end - first, crcs, first >> Layout.BLOCK_SHIFT);
        writeFully(lc, Layout.segmentOffset(pc, s) + first, blocks);
        recordMaterialized(lc, meta, pc, s, crcs);
    }

    /**
     * Reads an ancestor's whole segment into {@code segment} (position 0, which does not move) to
     * copy it into a descendant: a first write's merge, a flatten. Pages the cache holds are copied
     * from the mapping; a segment not wholly cached is read with direct I/O. A replica that serves
     * no reads of an image has none of its pages cached, and faulting a segment in through the
     * mapping is a fault and a small device read per 4 KiB: on the 2-core test VM about 0.35–0.7 ms
     * of CPU per segment, against about 35 µs for one direct read (and 4 µs for the mincore check),
     * on every copy of every first write into a fresh clone.
     */
    void readAncestorSegment(Lc owner, long pc, int s, int[] crcs, ByteBuffer segment) throws IOException {
        long position = Layout.segmentOffset(pc, s);
        if (!wholeSegments.direct() || owner.cached(position, Layout.SEGMENT_SIZE)) {
            reader.readStored(owner, pc, s, crcs, 0, segment.duplicate().clear().limit(Layout.SEGMENT_SIZE));
            return;
        }
        wholeSegments.read(owner, pc, s, segment.duplicate().clear());
        SegmentReader.verify(owner, pc, s, segment, Layout.SEGMENT_SIZE, crcs, 0);
    }

    /**
     * Writes a whole segment the lc did not hold as data, then its record, then its bit. Over a
     * segment zeroed since it held data, the zero mark is forced first (with {@link
     * EngineConfig#syncDirtyMarks()}, as a dirty mark is): until then the durable metadata may still
     * name the old bytes under their CRCs, and new bytes reaching the disk before the mark would read
     * as corrupt after a power loss.
     */
    void materialize(Lc lc, PcMeta meta, long pc, int s, ByteBuffer segment, int[] crcs) throws IOException {
        if (lc.zeroedOverData.remove(Lc.segmentKey(pc, s)) && config.syncDirtyMarks()) {
            metaStore.journal().force(durability);
        }
        wholeSegments.write(lc, pc, s, segment);
        recordMaterialized(lc, meta, pc, s, crcs);
    }

    /** Once a segment's bytes are written: its materialize record, then its bit. */
    private void recordMaterialized(Lc lc, PcMeta meta, long pc, int s, int[] crcs) throws IOException {
        long lsn = metaStore.journal().append(new JournalRecord.Materialize(lc.id, pc, s, crcs));
        meta.setData(s, crcs);
        lc.pending.put(Lc.segmentKey(pc, s), lsn);
    }

    long writeSparse(long lcId, long offset, ByteBuffer src) {
        int n = src.remaining();
        boolean zero = true;
        for (int at = 0; at < n && zero; at += Layout.SEGMENT_SIZE) {
            int piece = Math.min(Layout.SEGMENT_SIZE, n - at);
            zero = src.slice(src.position() + at, piece).mismatch(SegmentReader.ZEROS.slice(0, piece)) == -1;
        }
        if (zero) {
            writeZeroes(lcId, offset, n);
            src.position(src.limit());
            return 0;
        }
        write(lcId, offset, src);
        return n;
    }

    void writeZeroes(long lcId, long offset, long length) {
        Lock l = state.shared();
        try {
            Lc lc = state.writable(lcId, "write zeroes");
            EngineState.checkRange(lc, offset, length);
            durability.checkWritable();
            long pos = offset;
            long end = offset + length;
            while (pos < end) {
                int inSegment = (int) (pos & (Layout.SEGMENT_SIZE - 1));
                int n = (int) Math.min(end - pos, Layout.SEGMENT_SIZE - inSegment);
                long segNo = pos >>> Layout.SEGMENT_SHIFT;
                long pc = Layout.pcOf(segNo);
                int s = Layout.segmentOf(segNo);
                StampedLock stripe = stripes.of(lc.id, pc, s);
                long stamp = stripe.writeLock();
                try {
                    zeroSegment(lc, pc, s, inSegment, n);
                } finally {
                    stripe.unlockWrite(stamp);
                }
                pos += n;
            }
        } catch (IOException e) {
            throw IoFailure.of("write zeroes lc " + lcId, e);
        } finally {
            l.unlock();
        }
    }

    private void zeroSegment(Lc lc, long pc, int s, int inSegment, int n) throws IOException {
        PcMeta existing = lc.pcs.get(pc);
        byte state = existing != null ? existing.state(s) : PcMeta.UNOWNED;
        if (state == PcMeta.ZERO || (state == PcMeta.UNOWNED && !chainHasData(lc, pc, s))) {
            return;
        }
        if (n < Layout.SEGMENT_SIZE) {
            writeSegment(lc, pc, s, inSegment, SegmentReader.ZEROS.slice(0, n));
            return;
        }
        zero(lc, lc.pcForWrite(pc), pc, s);
    }

    /** Makes a whole segment of a writable lc a zero mark, under its stripe's write lock. */
    void zero(Lc lc, PcMeta meta, long pc, int s) throws IOException {
        long key = Lc.segmentKey(pc, s);
        if (meta.state(s) == PcMeta.DATA) {
            lc.zeroedOverData.add(key);
        }
        metaStore.journal().append(new JournalRecord.Zero(lc.id, pc, s));
        meta.setZero(s);
        lc.pending.remove(key);
    }

    private boolean chainHasData(Lc lc, long pc, int s) {
        Lc parent = lc.parent;
        return parent != null && resolvedPcs.of(parent, pc).owners()[s] != null;
    }
}
