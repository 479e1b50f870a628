package dev.sprig.node.copy;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.engine.OwnedPc;
import dev.sprig.engine.SegmentState;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
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
 *
 * <p>Both sides keep a PC as sixteen 256 KiB buffers, never as one 4 MiB array: G1 allocates an
 * array of half a region or more (regions are 1 to 4 MiB on a node's heap) outside the young
 * generation, and a few such allocations a second start collection cycles whose pauses stalled
 * the node's client reads.
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
     * One held segment of a read body: left out (the caller holds it), zeros, or data, listed with
     * {@code crcs}, in the reader's buffer for that segment.
     */
    record Entry(int segment, boolean leftOut, boolean zero, int[] crcs) {}

    /** What the source holds in the PC, read whole before a byte is sent; write it with {@link #write}. */
    public record Body(List<Integer> segments, List<SegmentState> states, List<int[]> crcs, List<ByteBuffer> data) {

        /** The body's length in bytes. */
        public int length() {
            int length = HEADER;
            for (int i = 0; i < segments.size(); i++) {
                length += data.get(i) != null ? DATA_ENTRY : ENTRY;
            }
            return length;
        }
    }

    private HeldPc() {}

    /**
     * Reads each segment in mask {@code wanted} that the lc holds as data into {@code dst[s]}, all in
     * one go (a frozen lc's consecutive segments in one disk request); the mask of those it read (a
     * segment may have changed since the listing).
     */
    @FunctionalInterface
    public interface SegmentsRead {
        int read(int wanted, ByteBuffer[] dst);
    }

    /**
     * The body for {@code held} (the lc's own segments of the PC, null: none), with the segments in
     * mask {@code without} named but left out; data segments are read with {@code read}, and their
     * CRCs are the listing's, so a live write between listing and read makes the receiver's check
     * fail and fetch the PC again. Null when a segment listed as data is no longer data when read (a
     * live zero write meanwhile): the caller lists again.
     */
    public static @Nullable Body read(@Nullable OwnedPc held, int without, SegmentsRead read) {
        List<Integer> segments = new ArrayList<>();
        List<SegmentState> states = new ArrayList<>();
        List<int[]> crcs = new ArrayList<>();
        List<ByteBuffer> data = new ArrayList<>();
        ByteBuffer[] bytes = new ByteBuffer[ChunkEngine.SEGMENTS_PER_PC];
        int wanted = 0;
        for (int s = 0; held != null && s < ChunkEngine.SEGMENTS_PER_PC; s++) {
            SegmentState state = held.state(s);
            if (state == SegmentState.UNOWNED) {
                continue;
            }
            segments.add(s);
            states.add(state);
            boolean send = state == SegmentState.DATA && (without & (1 << s)) == 0;
            crcs.add(send ? held.crcs().get(s) : null);
            if (send) {
                bytes[s] = ByteBuffer.allocate(ChunkEngine.SEGMENT_SIZE);
                wanted |= 1 << s;
            }
            data.add(bytes[s]);
        }
        if (wanted != 0 && read.read(wanted, bytes) != wanted) {
            return null;
        }
        for (ByteBuffer segment : bytes) {
            if (segment != null) {
                segment.flip();
            }
        }
        return new Body(segments, states, crcs, data);
    }

    /** Writes {@code body} as {@link Body#length} bytes. */
    public static void write(Body body, int without, OutputStream to) throws IOException {
        DataOutputStream out = new DataOutputStream(to);
        out.writeInt(body.segments().size());
        for (int i = 0; i < body.segments().size(); i++) {
            int s = body.segments().get(i);
            ByteBuffer data = body.data().get(i);
            out.writeInt(s);
            if ((without & (1 << s)) != 0) {
                out.writeInt(LEFT_OUT);
            } else if (data == null) {
                out.writeInt(ZERO);
            } else {
                out.writeInt(DATA);
                for (int crc : body.crcs().get(i)) {
                    out.writeInt(crc);
                }
                out.write(data.array(), data.arrayOffset(), ChunkEngine.SEGMENT_SIZE);
            }
        }
        out.flush();
    }

    /**
     * The entries of a body as it comes, the data of segment {@code s} read into {@code buffers[s]}
     * (from position 0, 256 KiB), checked for shape (counts, segment numbers in order, sizes); the
     * data's CRCs are checked by {@link #firstMismatch}.
     */
    static List<Entry> read(InputStream body, ByteBuffer[] buffers) throws IOException {
        DataInputStream in = new DataInputStream(body);
        try {
            int count = in.readInt();
            if (count < 0 || count > ChunkEngine.SEGMENTS_PER_PC) {
                throw CopyException.sourceUnreadable("a PC's body names " + count + " segments");
            }
            List<Entry> entries = new ArrayList<>(count);
            int last = -1;
            for (int i = 0; i < count; i++) {
                int s = in.readInt();
                int state = in.readInt();
                if (s <= last || s >= ChunkEngine.SEGMENTS_PER_PC || state < ZERO || state > LEFT_OUT) {
                    throw CopyException.sourceUnreadable(
                            "a PC's body has segment " + s + " in state " + state + " after segment " + last);
                }
                last = s;
                if (state != DATA) {
                    entries.add(new Entry(s, state == LEFT_OUT, state == ZERO, new int[0]));
                    continue;
                }
                int[] crcs = new int[BLOCKS];
                for (int b = 0; b < BLOCKS; b++) {
                    crcs[b] = in.readInt();
                }
                ByteBuffer into = buffers[s];
                into.clear();
                in.readFully(into.array(), into.arrayOffset(), ChunkEngine.SEGMENT_SIZE);
                entries.add(new Entry(s, false, false, crcs));
            }
            return entries;
        } catch (EOFException e) {
            throw CopyException.sourceUnreadable("a PC's body breaks off");
        }
    }

    /** Sixteen 256 KiB buffers, one per segment of a PC, for {@link #read(InputStream, ByteBuffer[])}. */
    static ByteBuffer[] buffers() {
        ByteBuffer[] buffers = new ByteBuffer[ChunkEngine.SEGMENTS_PER_PC];
        for (int s = 0; s < buffers.length; s++) {
            buffers[s] = ByteBuffer.allocate(ChunkEngine.SEGMENT_SIZE);
        }
        return buffers;
    }

    /** The first block of {@code data} (256 KiB from position 0) that does not match its CRC in {@code crcs}, or -1. */
    static int firstMismatch(ByteBuffer data, int[] crcs) {
        CRC32C crc = new CRC32C();
        for (int b = 0; b < BLOCKS; b++) {
            crc.reset();
            crc.update(data.array(), data.arrayOffset() + b * BLOCK, BLOCK);
            if ((int) crc.getValue() != crcs[b]) {
                return b;
            }
        }
        return -1;
    }
}
