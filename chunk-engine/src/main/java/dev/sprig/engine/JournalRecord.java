package dev.sprig.engine;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * The records of the metadata journal; encodings are described in {@code storage-node/README.md}.
 * Each record body starts with a one-byte type; the journal frames it with its length and CRC32C.
 */
sealed interface JournalRecord {

    byte CREATE = 1;
    byte FREEZE = 2;
    byte DELETE = 3;
    byte GROW = 4;
    byte FLATTEN = 5;
    byte MATERIALIZE = 6;
    byte DIRTY = 7;
    byte ZERO = 8;
    byte FLUSH = 9;
    byte CREATE_ALL = 10;

    ByteBuffer encode();

    record Create(long lcId, OptionalLong parentLcId, long size) implements JournalRecord {
        public ByteBuffer encode() {
            return ByteBuffer.allocate(26)
                    .put(CREATE)
                    .putLong(lcId)
                    .put((byte) (parentLcId.isPresent() ? 1 : 0))
                    .putLong(parentLcId.orElse(0))
                    .putLong(size)
                    .flip();
        }
    }

    /**
     * A batch of lcs created (and frozen where asked) at once. One record, so its frame CRC makes the
     * whole batch replay or not at all; a parent may be an earlier entry of the same record.
     */
    record CreateAll(List<NewLc> lcs) implements JournalRecord {
        static final int ENTRY_BYTES = 26;
        /** Keeps the record well under the journal's largest frame (64 MiB). */
        static final int MAX_LCS = 1 << 20;

        public ByteBuffer encode() {
            ByteBuffer b = ByteBuffer.allocate(5 + ENTRY_BYTES * lcs.size())
                    .put(CREATE_ALL)
                    .putInt(lcs.size());
            for (NewLc n : lcs) {
                Long parent = n.parentLcId();
                b.putLong(n.lcId())
                        .put((byte) (parent != null ? 1 : 0))
                        .putLong(parent != null ? parent : 0)
                        .putLong(n.sizeBytes())
                        .put((byte) (n.frozen() ? 1 : 0));
            }
            return b.flip();
        }
    }

    record Freeze(long lcId) implements JournalRecord {
        public ByteBuffer encode() {
            return ByteBuffer.allocate(9).put(FREEZE).putLong(lcId).flip();
        }
    }

    record Delete(long lcId) implements JournalRecord {
        public ByteBuffer encode() {
            return ByteBuffer.allocate(9).put(DELETE).putLong(lcId).flip();
        }
    }

    record Grow(long lcId, long size) implements JournalRecord {
        public ByteBuffer encode() {
            return ByteBuffer.allocate(17).put(GROW).putLong(lcId).putLong(size).flip();
        }
    }

    /** The lc no longer has a parent: every segment it read from ancestors is now its own. */
    record Flatten(long lcId) implements JournalRecord {
        public ByteBuffer encode() {
            return ByteBuffer.allocate(9).put(FLATTEN).putLong(lcId).flip();
        }
    }

    /**
     * A whole segment was written to the data file (a redirect, or data over a zero segment) and now
     * holds data with these block CRCs. Tentative until a flush record confirms it.
     */
    record Materialize(long lcId, long pcIndex, int segment, int[] crcs) implements JournalRecord {
        public ByteBuffer encode() {
            ByteBuffer b = ByteBuffer.allocate(18 + 4 * Layout.BLOCKS_PER_SEGMENT)
                    .put(MATERIALIZE)
                    .putLong(lcId)
                    .putLong(pcIndex)
                    .put((byte) segment);
            for (int c : crcs) {
                b.putInt(c);
            }
            return b.flip();
        }
    }

    /** A data segment is about to be rewritten in place; its CRCs are unknown until the next flush. */
    record Dirty(long lcId, long pcIndex, int segment) implements JournalRecord {
        public ByteBuffer encode() {
            return ByteBuffer.allocate(18)
                    .put(DIRTY)
                    .putLong(lcId)
                    .putLong(pcIndex)
                    .put((byte) segment)
                    .flip();
        }
    }

    /** The segment is owned and reads as zeros; no bytes are stored for it. */
    record Zero(long lcId, long pcIndex, int segment) implements JournalRecord {
        public ByteBuffer encode() {
            return ByteBuffer.allocate(18)
                    .put(ZERO)
                    .putLong(lcId)
                    .putLong(pcIndex)
                    .put((byte) segment)
                    .flip();
        }
    }

    /**
     * The lc's data file was fsynced after these segments were captured: each entry names the
     * journal position of the record that marked the segment pending and its CRCs at capture time.
     */
    record Flush(long lcId, List<FlushedSegment> segments) implements JournalRecord {
        static final int ENTRY_BYTES = 17 + 4 * Layout.BLOCKS_PER_SEGMENT;
        /** Keeps a record (18 MiB at most) well under the journal's largest frame (64 MiB). */
        static final int MAX_SEGMENTS = 1 << 16;

        /**
         * The flush of {@code segments} as records of at most {@code maxSegments} each. Each replays
         * on its own: an entry settles its segment whatever other entries say, and the lc's data
         * file was fsynced before any of them was appended, so a crash between two records leaves
         * the later entries' segments pending, to be settled from the disk as unflushed ones are.
         */
        static List<Flush> split(long lcId, List<FlushedSegment> segments, int maxSegments) {
            List<Flush> records = new ArrayList<>();
            for (int from = 0; from < segments.size(); from += maxSegments) {
                records.add(new Flush(
                        lcId, List.copyOf(segments.subList(from, Math.min(segments.size(), from + maxSegments)))));
            }
            return records;
        }

        static long encodedBytes(long segments) {
            return 13 + ENTRY_BYTES * segments;
        }

        public ByteBuffer encode() {
            ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(encodedBytes(segments.size())))
                    .put(FLUSH)
                    .putLong(lcId)
                    .putInt(segments.size());
            for (FlushedSegment s : segments) {
                b.putLong(s.pcIndex()).put((byte) s.segment()).putLong(s.markLsn());
                for (int c : s.crcs()) {
                    b.putInt(c);
                }
            }
            return b.flip();
        }
    }

    record FlushedSegment(long pcIndex, int segment, long markLsn, int[] crcs) {}

    static JournalRecord decode(ByteBuffer b) {
        byte type = b.get();
        JournalRecord r = switch (type) {
            case CREATE -> {
                long lc = b.getLong();
                boolean hasParent = b.get() != 0;
                long parent = b.getLong();
                yield new Create(lc, hasParent ? OptionalLong.of(parent) : OptionalLong.empty(), b.getLong());
            }
            case CREATE_ALL -> {
                int n = b.getInt();
                if (n < 0 || n > b.remaining() / CreateAll.ENTRY_BYTES) {
                    throw new CorruptionException("create-all record with " + n + " entries");
                }
                List<NewLc> lcs = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    long lc = b.getLong();
                    boolean hasParent = b.get() != 0;
                    long parent = b.getLong();
                    lcs.add(new NewLc(lc, hasParent ? parent : null, b.getLong(), b.get() != 0));
                }
                yield new CreateAll(lcs);
            }
            case FREEZE -> new Freeze(b.getLong());
            case DELETE -> new Delete(b.getLong());
            case GROW -> new Grow(b.getLong(), b.getLong());
            case FLATTEN -> new Flatten(b.getLong());
            case MATERIALIZE -> new Materialize(b.getLong(), b.getLong(), segment(b), crcs(b));
            case DIRTY -> new Dirty(b.getLong(), b.getLong(), segment(b));
            case ZERO -> new Zero(b.getLong(), b.getLong(), segment(b));
            case FLUSH -> {
                long lc = b.getLong();
                int n = b.getInt();
                if (n < 0 || n > b.remaining()) {
                    throw new CorruptionException("flush record with " + n + " entries");
                }
                List<FlushedSegment> segments = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    segments.add(new FlushedSegment(b.getLong(), segment(b), b.getLong(), crcs(b)));
                }
                yield new Flush(lc, segments);
            }
            default -> throw new CorruptionException("unknown journal record type " + type);
        };
        if (b.hasRemaining()) {
            throw new CorruptionException("trailing bytes in journal record type " + type);
        }
        return r;
    }

    private static int segment(ByteBuffer b) {
        int s = b.get();
        if (s < 0 || s >= Layout.SEGMENTS_PER_PC) {
            throw new CorruptionException("segment index " + s);
        }
        return s;
    }

    private static int[] crcs(ByteBuffer b) {
        int[] c = new int[Layout.BLOCKS_PER_SEGMENT];
        for (int i = 0; i < c.length; i++) {
            c[i] = b.getInt();
        }
        return c;
    }
}
