package dev.sprig.node.copy;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.engine.OwnedPc;
import dev.sprig.engine.SegmentState;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;
import org.jspecify.annotations.Nullable;

/**
 * What an lc holds itself in one PC, with the bytes of its data segments, as one body
 * ({@code GET /v1/lcs/{id}/segments/{pc}}): a rebuild fetches a PC in one request rather than a
 * listing and one request per segment. Big-endian: the number of entries (0 to 16), then per held
 * segment in segment order its number, its state (0 zeros, 1 data, 2 held but left out: the caller
 * holds it already) and, for data, its 64 block CRC32Cs and its 256 KiB. At most {@link #MAX_BYTES}.
 */
public final class HeldPc {

    /** The bytes each block CRC covers. */
    static final int BLOCK = 4096;

    static final int BLOCKS = ChunkEngine.SEGMENT_SIZE / BLOCK;
    private static final int ZERO = 0;
    private static final int DATA = 1;
    private static final int LEFT_OUT = 2;
    private static final int HEADER = 4;
    private static final int ENTRY = 8;
    private static final int DATA_ENTRY = ENTRY + BLOCKS * 4 + ChunkEngine.SEGMENT_SIZE;

    /** A whole PC held as data: the largest body. */
    public static final int MAX_BYTES = HEADER + ChunkEngine.SEGMENTS_PER_PC * DATA_ENTRY;

    /**
     * One held segment of a parsed body: left out (the caller holds it), zeros, or data whose 256 KiB
     * start at {@code offset} of the body, listed with {@code crcs}.
     */
    record Entry(int segment, boolean leftOut, boolean zero, int[] crcs, int offset) {}

    private HeldPc() {}

    /** Reads a segment the lc holds as data into {@code dst}; its state now (it may have changed since the listing). */
    @FunctionalInterface
    public interface SegmentRead {
        SegmentState read(int segment, ByteBuffer dst);
    }

    /**
     * The body for {@code held} (the lc's own segments of the PC, null: none), with the segments in
     * mask {@code without} named but left out; data segments are read with {@code read}, and their CRCs are
     * the listing's, so a live write between listing and read makes the receiver's check fail and
     * fetch the PC again. Null when a segment listed as data is no longer data when read (a live
     * zero write meanwhile): the caller lists again.
     */
    public static byte @Nullable [] encode(@Nullable OwnedPc held, int without, SegmentRead read) {
        List<Integer> segments = new ArrayList<>();
        int size = HEADER;
        for (int s = 0; held != null && s < ChunkEngine.SEGMENTS_PER_PC; s++) {
            if (held.state(s) == SegmentState.UNOWNED) {
                continue;
            }
            segments.add(s);
            size += held.state(s) == SegmentState.DATA && (without & (1 << s)) == 0 ? DATA_ENTRY : ENTRY;
        }
        ByteBuffer out = ByteBuffer.allocate(size);
        out.putInt(segments.size());
        for (int s : segments) {
            if ((without & (1 << s)) != 0) {
                out.putInt(s).putInt(LEFT_OUT);
                continue;
            }
            if (held.state(s) != SegmentState.DATA) {
                out.putInt(s).putInt(ZERO);
                continue;
            }
            out.putInt(s).putInt(DATA);
            for (int crc : held.crcs().get(s)) {
                out.putInt(crc);
            }
            if (read.read(s, out) != SegmentState.DATA) {
                return null;
            }
        }
        return out.array();
    }

    /**
     * The entries of a body, checked for shape (counts, segment numbers in order, sizes); the data's
     * CRCs are checked by {@link #firstMismatch}.
     */
    static List<Entry> decode(byte[] body) {
        ByteBuffer in = ByteBuffer.wrap(body);
        if (body.length < HEADER) {
            throw CopyException.sourceUnreadable("a PC's body of " + body.length + " bytes has no header");
        }
        int count = in.getInt();
        if (count < 0 || count > ChunkEngine.SEGMENTS_PER_PC) {
            throw CopyException.sourceUnreadable("a PC's body names " + count + " segments");
        }
        List<Entry> entries = new ArrayList<>(count);
        int last = -1;
        for (int i = 0; i < count; i++) {
            if (in.remaining() < ENTRY) {
                throw CopyException.sourceUnreadable("a PC's body breaks off in entry " + i);
            }
            int s = in.getInt();
            int state = in.getInt();
            if (s <= last || s >= ChunkEngine.SEGMENTS_PER_PC || state < ZERO || state > LEFT_OUT) {
                throw CopyException.sourceUnreadable(
                        "a PC's body has segment " + s + " in state " + state + " after segment " + last);
            }
            last = s;
            if (state != DATA) {
                entries.add(new Entry(s, state == LEFT_OUT, state == ZERO, new int[0], -1));
                continue;
            }
            if (in.remaining() < DATA_ENTRY - ENTRY) {
                throw CopyException.sourceUnreadable("a PC's body breaks off in segment " + s);
            }
            int[] crcs = new int[BLOCKS];
            for (int b = 0; b < BLOCKS; b++) {
                crcs[b] = in.getInt();
            }
            entries.add(new Entry(s, false, false, crcs, in.position()));
            in.position(in.position() + ChunkEngine.SEGMENT_SIZE);
        }
        if (in.hasRemaining()) {
            throw CopyException.sourceUnreadable("a PC's body has " + in.remaining() + " bytes past its last segment");
        }
        return entries;
    }

    /** The first block of the entry's data in {@code body} that does not match its CRC, or -1. */
    static int firstMismatch(byte[] body, Entry entry) {
        CRC32C crc = new CRC32C();
        for (int b = 0; b < BLOCKS; b++) {
            crc.reset();
            crc.update(body, entry.offset() + b * BLOCK, BLOCK);
            if ((int) crc.getValue() != entry.crcs()[b]) {
                return b;
            }
        }
        return -1;
    }
}
