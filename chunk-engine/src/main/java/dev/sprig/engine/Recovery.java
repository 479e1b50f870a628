package dev.sprig.engine;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Rebuilds the engine state from a checkpoint and the journals that continue it, record by record.
 *
 * <p>Lineage records (create, create-all, freeze, delete, grow, flatten) and zero records are
 * applied as they come: the engine forces the journal before it acknowledges a lineage change, and
 * a zero record that made it into the journal is a valid outcome on its own. A create-all record
 * holds a whole batch, so its frame CRC applies the batch entirely or (torn tail) not at all.
 * Segment data is different, because the data file and the journal reach the disk independently:
 *
 * <ul>
 *   <li>a materialize record (redirect) is tentative until a flush record confirms it. An
 *       unconfirmed one is kept only if every block on disk matches the CRCs it carries; otherwise
 *       the segment is rolled back to its state before the record: the redirect was not flushed,
 *       so its pre-redirect content is a valid outcome and a torn segment is never exposed;
 *   <li>a dirty record says a data segment was being rewritten in place. Unless a later flush
 *       record names it with the same mark, its CRCs are recomputed from the bytes on disk, so an
 *       unflushed in-place write is never mistaken for corruption.
 * </ul>
 */
final class Recovery {

    private static final class Pending {
        final byte prevState;
        final int @Nullable [] prevCrcs;
        long matLsn = -1;
        boolean matUnconfirmed;
        long dirtyLsn = -1;
        boolean dirty;

        Pending(byte prevState, int @Nullable [] prevCrcs) {
            this.prevState = prevState;
            this.prevCrcs = prevCrcs;
        }

        long latestMark() {
            return Math.max(matLsn, dirtyLsn);
        }
    }

    /** The lcs recovered and the generation of the journal the engine continues with. */
    record Recovered(Map<Long, Lc> lcs, long generation) {}

    /**
     * Recovers the engine stored in {@code dir}: loads the checkpoint, replays the journals, settles
     * unflushed segments, fsyncs what it settled, writes a fresh checkpoint if anything was replayed
     * (or none existed) and removes files that no lc owns.
     */
    static Recovered recover(Path dir, Durability durability) throws IOException {
        Checkpoint.Loaded loaded = Checkpoint.read(dir);
        Map<Long, Lc> lcs = loaded.lcs();
        Recovery recovery = new Recovery(dir, lcs);
        Replayed replayed = recovery.replayJournals(loaded.journalGeneration());
        Set<Lc> settled = recovery.settle();
        for (Lc lc : settled) {
            if (Files.exists(lc.file)) {
                durability.force(lc.channel(), false, "lc " + lc.id);
            }
        }
        long generation = loaded.journalGeneration();
        boolean fresh = !Files.exists(dir.resolve(Checkpoint.FILE));
        if (fresh || replayed.anything()) {
            // past every journal replayed, so that none of them is continued
            generation = replayed.lastGeneration() + 1;
            Checkpoint.write(dir, generation, lcs.values(), durability);
        }
        removeStrayFiles(dir, lcs.keySet(), generation);
        return new Recovered(lcs, generation);
    }

    private static void removeStrayFiles(Path dir, Set<Long> lcIds, long generation) throws IOException {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                boolean stray = name.equals(Checkpoint.FILE + ".tmp")
                        || (name.startsWith("journal-") && !f.equals(Journal.path(dir, generation)))
                        || (name.startsWith("lc-") && name.endsWith(Adoption.STAGING_SUFFIX))
                        || (name.startsWith("lc-") && name.endsWith(".data") && !lcIds.contains(lcIdOf(name)));
                if (stray) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }

    private static long lcIdOf(String dataFileName) {
        try {
            return Long.parseLong(dataFileName.substring(3, dataFileName.length() - 5));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private final Map<Long, Lc> lcs;
    private final Path dir;
    private final Map<Long, Map<Long, Pending>> pending = new HashMap<>();

    private final int readBuffer;

    Recovery(Path dir, Map<Long, Lc> lcs) {
        this(dir, lcs, Journal.READ_BUFFER);
    }

    /** A recovery that reads journals {@code readBuffer} bytes at a time. */
    Recovery(Path dir, Map<Long, Lc> lcs, int readBuffer) {
        this.dir = dir;
        this.lcs = lcs;
        this.readBuffer = readBuffer;
    }

    /** The lsn the next record replayed gets: lsns run on across the journals of one replay. */
    private long nextLsn;
    /** The lsn of the first record of the journal being replayed; flush records count from it. */
    private long journalBase;

    /**
     * Starts the next journal file of the replay. A journal's records name positions in their own
     * file; a checkpoint starts the next journal only when nothing is pending, so no record refers
     * to a position in an earlier file.
     */
    void beginJournal() {
        journalBase = nextLsn;
    }

    /**
     * What replaying the journals found.
     *
     * @param lastGeneration the generation of the last journal replayed (the checkpoint's if none
     *     follows it)
     * @param anything whether any journal held a record, a torn tail or a successor: the state
     *     differs from the checkpoint, or the journal files do
     */
    record Replayed(long lastGeneration, boolean anything) {}

    /**
     * Streams journal {@code generation} and each one that follows it into this recovery, in order.
     * Several exist only when a crash interrupted a checkpoint between switching journals and
     * writing its file. A journal that ends in a torn record ends the replay; a later journal that
     * holds anything then means damage, since a journal is forced whole before its successor
     * receives a record.
     */
    Replayed replayJournals(long generation) throws IOException {
        long last = generation;
        boolean anything = false;
        for (long g = generation; ; g++) {
            Path file = Journal.path(dir, g);
            if (!Files.exists(file)) {
                break;
            }
            last = g;
            beginJournal();
            Journal.Scan scan = Journal.scan(file, readBuffer, this::apply);
            anything |= scan.fileBytes() > 0 || g > generation;
            if (scan.torn()) {
                Path next = Journal.path(dir, g + 1);
                if (Files.exists(next) && Files.size(next) > 0) {
                    throw new CorruptionException("journal " + g + " is damaged at byte " + scan.validBytes()
                            + " and journal " + (g + 1) + " follows it");
                }
                break;
            }
        }
        return new Replayed(last, anything);
    }

    /** Applies the next record of the journal being replayed. */
    void apply(JournalRecord record) {
        apply(nextLsn++, record);
    }

    private void apply(long lsn, JournalRecord record) {
        if (record instanceof JournalRecord.Create r) {
            create(r.lcId(), r.parentLcId().isPresent() ? r.parentLcId().getAsLong() : null, r.size(), false);
        } else if (record instanceof JournalRecord.CreateAll r) {
            for (NewLc n : r.lcs()) {
                create(n.lcId(), n.parentLcId(), n.sizeBytes(), n.frozen());
            }
        } else if (record instanceof JournalRecord.Freeze r) {
            lc(r.lcId()).frozen = true;
        } else if (record instanceof JournalRecord.Delete r) {
            Lc lc = lcs.remove(r.lcId());
            Lc parent = lc != null ? lc.parent : null;
            if (parent != null) {
                parent.children--;
            }
            pending.remove(r.lcId());
        } else if (record instanceof JournalRecord.Grow r) {
            lc(r.lcId()).size = r.size();
        } else if (record instanceof JournalRecord.Flatten r) {
            Lc lc = lc(r.lcId());
            Lc parent = lc.parent;
            if (parent != null) {
                parent.children--;
            }
            lc.parent = null;
        } else if (record instanceof JournalRecord.Materialize r) {
            applyMaterialize(lsn, r);
        } else if (record instanceof JournalRecord.Dirty r) {
            lc(r.lcId()).pcForWrite(r.pcIndex());
            Pending p = segments(r.lcId())
                    .computeIfAbsent(Lc.segmentKey(r.pcIndex(), r.segment()), k -> new Pending(PcMeta.DATA, null));
            p.dirty = true;
            p.dirtyLsn = lsn;
        } else if (record instanceof JournalRecord.Zero r) {
            lc(r.lcId()).pcForWrite(r.pcIndex()).setZero(r.segment());
            segments(r.lcId()).remove(Lc.segmentKey(r.pcIndex(), r.segment()));
        } else if (record instanceof JournalRecord.Flush r) {
            applyFlush(r);
        }
    }

    private void create(long lcId, @Nullable Long parentLcId, long size, boolean frozen) {
        Lc parent = parentLcId != null ? lc(parentLcId) : null;
        if (parent != null) {
            parent.children++;
        }
        lcs.put(lcId, new Lc(lcId, dir, parent, size, frozen));
    }

    private void applyMaterialize(long lsn, JournalRecord.Materialize r) {
        PcMeta meta = lc(r.lcId()).pcForWrite(r.pcIndex());
        long key = Lc.segmentKey(r.pcIndex(), r.segment());
        Pending p = segments(r.lcId()).get(key);
        if (p == null || !p.matUnconfirmed) {
            byte state = meta.state(r.segment());
            p = new Pending(state, state == PcMeta.DATA ? meta.crcs(r.segment()) : null);
            segments(r.lcId()).put(key, p);
        }
        p.matLsn = lsn;
        p.matUnconfirmed = true;
        p.dirty = false;
        meta.setData(r.segment(), r.crcs());
    }

    /**
     * A flush entry settles a segment only if no record marked it again after the flush captured it;
     * if one did, the entry still proves that the materialized data before that mark was fsynced.
     */
    private void applyFlush(JournalRecord.Flush r) {
        Lc lc = lc(r.lcId());
        Map<Long, Pending> segs = segments(r.lcId());
        for (JournalRecord.FlushedSegment f : r.segments()) {
            long key = Lc.segmentKey(f.pcIndex(), f.segment());
            Pending p = segs.get(key);
            if (p == null) {
                continue;
            }
            long markLsn = journalBase + f.markLsn();
            if (markLsn >= p.latestMark()) {
                lc.pcForWrite(f.pcIndex()).setData(f.segment(), f.crcs());
                segs.remove(key);
            } else if (markLsn >= p.matLsn) {
                p.matUnconfirmed = false;
            }
        }
    }

    /**
     * Settles every segment still pending after replay (see the class comment) and returns the lcs
     * whose data files must be fsynced before the settled state is checkpointed.
     */
    Set<Lc> settle() throws IOException {
        Set<Lc> touched = new LinkedHashSet<>();
        ByteBuffer segment = ByteBuffer.allocateDirect(Layout.SEGMENT_SIZE);
        for (Map.Entry<Long, Map<Long, Pending>> byLc : pending.entrySet()) {
            Lc lc = lcs.get(byLc.getKey());
            if (lc == null || byLc.getValue().isEmpty()) {
                continue;
            }
            touched.add(lc);
            for (Map.Entry<Long, Pending> e : byLc.getValue().entrySet()) {
                long pc = Layout.pcOf(e.getKey());
                int s = Layout.segmentOf(e.getKey());
                Pending p = e.getValue();
                PcMeta meta = lc.pcForWrite(pc);
                int[] onDisk = crcsOnDisk(lc, pc, s, segment);
                if (p.matUnconfirmed) {
                    if (p.dirty || !Arrays.equals(onDisk, meta.crcs(s))) {
                        meta.set(s, p.prevState, p.prevCrcs);
                    }
                } else if (p.dirty) {
                    meta.setData(s, onDisk);
                }
            }
        }
        return touched;
    }

    private static int[] crcsOnDisk(Lc lc, long pc, int s, ByteBuffer segment) throws IOException {
        segment.clear();
        if (Files.exists(lc.file)) {
            try (FileChannel ch = FileChannel.open(lc.file, StandardOpenOption.READ)) {
                long pos = Layout.segmentOffset(pc, s);
                while (segment.hasRemaining()) {
                    int n = ch.read(segment, pos);
                    if (n < 0) {
                        break;
                    }
                    pos += n;
                }
            }
        }
        while (segment.hasRemaining()) {
            segment.put((byte) 0);
        }
        int[] crcs = new int[Layout.BLOCKS_PER_SEGMENT];
        BlockCrc.ofBlocks(segment, 0, Layout.SEGMENT_SIZE, crcs, 0);
        return crcs;
    }

    private Map<Long, Pending> segments(long lcId) {
        return pending.computeIfAbsent(lcId, k -> new HashMap<>());
    }

    private Lc lc(long id) {
        Lc lc = lcs.get(id);
        if (lc == null) {
            throw new CorruptionException("journal names unknown lc " + id);
        }
        return lc;
    }
}
