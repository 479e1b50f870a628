package dev.sprig.node.copy;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.engine.OwnedPc;
import dev.sprig.engine.SegmentFill;
import dev.sprig.engine.SegmentState;
import dev.sprig.nodeapi.OwnedSegmentsView;
import dev.sprig.nodeapi.OwnedSegmentsView.OwnedPcView;
import dev.sprig.nodeapi.OwnedSegmentsView.OwnedSegmentView;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.json.JsonMapper;

/**
 * Heals an lc here from the same lc's copy on another node: lists what the source lc holds itself
 * ({@code GET /v1/lcs/{id}/segments}), and fills every segment the source holds that this lc does
 * not hold yet ({@code GET /v1/lcs/{id}/segments/{pc}/{segment}}, its bytes checked against the
 * listed block CRCs), throttled to a byte rate. A segment this lc already holds (a client write got
 * there first, or an earlier fill) is skipped, and the engine's fill refuses it too if a write lands
 * between the check and the fill, so live writes always win. A PC's segments are fetched, then
 * filled together (for a frozen lc, one fsync and one journal force per PC, not per segment). The lc
 * is flushed at the end.
 */
public final class SegmentPuller {

    /** PCs per listing request: the source's limit. */
    static final long LIST_PCS = 1024;
    /** Fetches of one segment before its source counts as unreadable (it may change meanwhile). */
    static final int ATTEMPTS = 3;
    /** A listing of {@link #LIST_PCS} PCs, each of 16 segments with 64 CRCs, fits well within this. */
    private static final int MAX_LISTING_BYTES = 64 << 20;
    /** The bytes each listed CRC32C covers. */
    private static final int BLOCK = 4096;

    /**
     * Segments filled (data or zeros), segments skipped because this lc held them (before the fetch,
     * or when the fill came: a live write landed meanwhile), and the bytes of the segments filled.
     */
    public record Pulled(long segmentsFilled, long segmentsSkipped, long bytesCopied) {}

    private final ChunkEngine engine;
    private final JsonMapper json;
    private final SourceClient client;

    public SegmentPuller(ChunkEngine engine, JsonMapper json, SourceClient client) {
        this.engine = engine;
        this.json = json;
        this.client = client;
    }

    /**
     * Pulls PCs {@code [firstPc, firstPc + pcCount)} of lc {@code sourceLcId} at {@code endpoint}
     * into lc {@code lcId}, fetching at most {@code bytesPerSecond} bytes a second (0: unthrottled).
     */
    public Pulled pull(
            long lcId, String endpoint, String token, long sourceLcId, long firstPc, long pcCount, long bytesPerSecond)
            throws IOException {
        URI base = RangeCopier.nodeBase(endpoint);
        // refuses an unknown lc or a range past its end (OutOfRangeException) before anything moves
        engine.ownSegments(lcId, firstPc, pcCount);
        long filled = 0;
        long skipped = 0;
        long bytes = 0;
        long fetched = 0;
        long started = System.nanoTime();
        long end = firstPc + pcCount;
        for (long at = firstPc; at < end; at += LIST_PCS) {
            long count = Math.min(LIST_PCS, end - at);
            for (OwnedPcView pc : listing(base, token, sourceLcId, at, count).pcs()) {
                long pcIndex = pc.pc();
                if (pcIndex < at || pcIndex >= at + count) {
                    throw CopyException.sourceUnreadable(
                            "the source listed PC " + pcIndex + " outside the PCs asked for");
                }
                // what this lc holds now, just before its segments are fetched: live writes keep coming
                OwnedPc held = find(engine.ownSegments(lcId, pcIndex, 1), pcIndex);
                List<SegmentFill> fills = new ArrayList<>();
                for (OwnedSegmentView segment : pc.segments()) {
                    int s = segment.segment();
                    if (s < 0 || s >= ChunkEngine.SEGMENTS_PER_PC) {
                        throw CopyException.sourceUnreadable(
                                "the source listed segment " + s + " of PC " + pcIndex + ", outside a PC");
                    }
                    if (held != null && held.state(s) != SegmentState.UNOWNED) {
                        skipped++;
                    } else if ("ZERO".equals(segment.state())) {
                        fills.add(SegmentFill.zeros(s));
                    } else {
                        byte[] data = fetch(base, token, sourceLcId, pcIndex, s, crcs(segment));
                        fetched += data.length;
                        fills.add(new SegmentFill(s, ByteBuffer.wrap(data)));
                        throttle(started, fetched, bytesPerSecond);
                    }
                }
                // the PC's segments in one fill: for a frozen lc one fsync and one journal force for all
                int done = fills.isEmpty() ? 0 : engine.fillSegments(lcId, pcIndex, fills);
                for (SegmentFill fill : fills) {
                    if ((done & (1 << fill.segment())) == 0) {
                        skipped++;
                    } else {
                        filled++;
                        bytes += fill.data() == null ? 0 : ChunkEngine.SEGMENT_SIZE;
                    }
                }
            }
        }
        engine.flush(lcId);
        return new Pulled(filled, skipped, bytes);
    }

    private static @Nullable OwnedPc find(List<OwnedPc> pcs, long pc) {
        for (OwnedPc p : pcs) {
            if (p.pc() == pc) {
                return p;
            }
        }
        return null;
    }

    private static int[] crcs(OwnedSegmentView segment) {
        int[] crcs = new int[ChunkEngine.SEGMENT_SIZE / BLOCK];
        if (segment.crcs() == null || segment.crcs().size() != crcs.length) {
            throw CopyException.sourceUnreadable("the source listed "
                    + (segment.crcs() == null ? 0 : segment.crcs().size()) + " block CRCs for a segment, not "
                    + crcs.length);
        }
        for (int i = 0; i < crcs.length; i++) {
            crcs[i] = segment.crcs().get(i);
        }
        return crcs;
    }

    /**
     * The source's own bytes of a segment, checked against the CRCs it listed. A mismatch or a
     * segment no longer held as data means the source changed it since the listing (its read
     * checks its own CRCs), so the segment's CRCs are listed again and the fetch repeated.
     */
    private byte[] fetch(URI base, String token, long sourceLcId, long pc, int s, int[] listed) throws IOException {
        int[] expected = listed;
        String why = "";
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            SourceClient.Answer response = client.get(
                    base, token, "/v1/lcs/" + sourceLcId + "/segments/" + pc + "/" + s, null, ChunkEngine.SEGMENT_SIZE);
            if (response.statusCode() == 200 && response.body().length == ChunkEngine.SEGMENT_SIZE) {
                int bad = firstMismatch(response.body(), expected);
                if (bad < 0) {
                    return response.body();
                }
                why = "block " + bad + " does not match its listed CRC32C";
            } else {
                why = "it answered " + response.statusCode() + " with " + response.body().length + " bytes";
            }
            @Nullable OwnedSegmentView segment = null;
            for (OwnedPcView p : listing(base, token, sourceLcId, pc, 1).pcs()) {
                for (OwnedSegmentView g : p.segments()) {
                    if (g.segment() == s && "DATA".equals(g.state())) {
                        segment = g;
                    }
                }
            }
            if (segment == null) {
                throw CopyException.sourceUnreadable("segment " + s + " of PC " + pc + " of lc " + sourceLcId
                        + " is no longer held as data at the source");
            }
            expected = crcs(segment);
        }
        throw CopyException.sourceUnreadable(
                "segment " + s + " of PC " + pc + " of lc " + sourceLcId + " could not be fetched intact: " + why);
    }

    private static int firstMismatch(byte[] data, int[] crcs) {
        CRC32C crc = new CRC32C();
        for (int b = 0; b < crcs.length; b++) {
            crc.reset();
            crc.update(data, b * BLOCK, BLOCK);
            if ((int) crc.getValue() != crcs[b]) {
                return b;
            }
        }
        return -1;
    }

    /** The source lc's own segments in PCs {@code [firstPc, firstPc + pcCount)}. */
    private OwnedSegmentsView listing(URI base, String token, long sourceLcId, long firstPc, long pcCount)
            throws IOException {
        String path = "/v1/lcs/" + sourceLcId + "/segments";
        SourceClient.Answer response =
                client.get(base, token, path, "firstPc=" + firstPc + "&pcCount=" + pcCount, MAX_LISTING_BYTES);
        if (response.statusCode() != 200) {
            throw CopyException.sourceUnreadable(
                    "listing " + path + " at the source failed: it answered " + response.statusCode() + " "
                            + new String(response.body(), java.nio.charset.StandardCharsets.UTF_8));
        }
        OwnedSegmentsView listed = json.readValue(response.body(), OwnedSegmentsView.class);
        if (listed.pcs() == null) {
            throw CopyException.sourceUnreadable("listing " + path + " at the source named no PCs");
        }
        return listed;
    }

    /** Sleeps until {@code bytes} is no more than {@code bytesPerSecond} times the time since {@code started}. */
    private static void throttle(long started, long bytes, long bytesPerSecond) {
        if (bytesPerSecond <= 0) {
            return;
        }
        long due = started + (long) (bytes * 1e9 / bytesPerSecond);
        long wait = due - System.nanoTime();
        if (wait > 0) {
            try {
                Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw CopyException.sourceUnreadable("the fill was interrupted");
            }
        }
    }
}
