package dev.sprig.node.copy;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.engine.OwnedPc;
import dev.sprig.engine.SegmentFill;
import dev.sprig.engine.SegmentState;
import dev.sprig.nodeapi.OwnedSegmentsView;
import dev.sprig.nodeapi.OwnedSegmentsView.OwnedPcView;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.json.JsonMapper;

/**
 * Heals an lc here from the same lc's copy on another node: finds the PCs where the source lc holds
 * anything itself (for a range of PCs, its listing {@code GET /v1/lcs/{id}/segments}; a single PC,
 * api-server's usual call, is fetched without one), fetches each such PC in one request ({@code GET
 * /v1/lcs/{id}/segments/{pc}}, {@link HeldPc}: every segment the source holds, with its block CRCs,
 * and the bytes of those this lc does not hold yet), checks the bytes against the CRCs, and fills
 * them, throttled to a byte rate. A segment this lc already holds (a client write got there first,
 * or an earlier fill) is skipped, and the engine's fill refuses it too if a write lands between the
 * check and the fill, so live writes always win. A PC's segments are filled together (for a frozen
 * lc, one fsync and one journal force per PC, not per segment). The lc is flushed at the end.
 *
 * <p>One request per PC, not per segment: a rebuild spent most of its time in sixteen request round
 * trips per PC (and a listing), each waiting on the source's Tomcat and this node's client.
 */
public final class SegmentPuller {

    /** PCs per listing request: the source's limit. */
    static final long LIST_PCS = 1024;
    /** Fetches of one PC before its source counts as unreadable (it may change meanwhile). */
    static final int ATTEMPTS = 3;
    /** A pull of at most this many PCs fetches each without asking the source's listing first. */
    static final long DIRECT_PCS = 16;
    /** A listing of {@link #LIST_PCS} PCs, each of 16 segments with 64 CRCs, fits well within this. */
    private static final int MAX_LISTING_BYTES = 64 << 20;

    /**
     * Segments filled (data or zeros), segments skipped because this lc held them (before the fetch,
     * or when the fill came: a live write landed meanwhile), and the bytes of the segments filled.
     */
    public record Pulled(long segmentsFilled, long segmentsSkipped, long bytesCopied) {}

    private final ChunkEngine engine;
    private final JsonMapper json;
    private final SourceClient client;
    /** The fetch of a pull's next PC while the one before is filled: one thread per running pull. */
    private final ExecutorService fetchers = Executors.newCachedThreadPool(work -> {
        Thread thread = new Thread(work, "fill-fetch");
        thread.setDaemon(true);
        return thread;
    });

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
        return pull(lcId, endpoint, token, sourceLcId, firstPc, pcCount, 1, bytesPerSecond);
    }

    /**
     * Pulls the {@code pcCount} PCs {@code firstPc}, {@code firstPc + pcStride}, … (a stripe
     * column's PCs have a stride of the column count) of lc {@code sourceLcId} at {@code endpoint}
     * into lc {@code lcId}, fetching at most {@code bytesPerSecond} bytes a second (0: unthrottled).
     * The next PC's fetch runs while the one before is filled (its fsync), so at most two PCs' bytes
     * are held at once, and the rate may run one PC ahead.
     */
    public Pulled pull(
            long lcId,
            String endpoint,
            String token,
            long sourceLcId,
            long firstPc,
            long pcCount,
            long pcStride,
            long bytesPerSecond)
            throws IOException {
        URI base = RangeCopier.nodeBase(endpoint);
        if (pcCount < 1 || pcStride < 1 || (pcCount - 1) > (Long.MAX_VALUE - 1) / pcStride) {
            throw CopyException.invalid("a pull covers at least one PC with a positive stride, not " + pcCount + " PCs "
                    + pcStride + " apart");
        }
        long span = (pcCount - 1) * pcStride + 1;
        // refuses an unknown lc or a range past its end (OutOfRangeException) before anything moves
        engine.ownSegments(lcId, firstPc, span);
        long filled = 0;
        long skipped = 0;
        long bytes = 0;
        long fetched = 0;
        long started = System.nanoTime();
        long end = firstPc + span;
        for (long at = firstPc; at < end; at += LIST_PCS) {
            long count = Math.min(LIST_PCS, end - at);
            long[] pcs = heldPcs(base, token, sourceLcId, at, count, firstPc, pcStride, pcCount);
            // two sets of a PC's buffers: the next PC is read into one while the other's is filled
            ByteBuffer[][] buffers = {HeldPc.buffers(), pcs.length > 1 ? HeldPc.buffers() : null};
            @Nullable
            Future<Fetched> next = pcs.length == 0 ? null : prefetch(lcId, base, token, sourceLcId, pcs[0], buffers[0]);
            try {
                for (int i = 0; i < pcs.length; i++) {
                    Fetched pc = await(next);
                    next = i + 1 < pcs.length
                            ? prefetch(lcId, base, token, sourceLcId, pcs[i + 1], buffers[(i + 1) % 2])
                            : null;
                    List<SegmentFill> fills = new ArrayList<>();
                    for (HeldPc.Entry entry : pc.entries()) {
                        if (entry.leftOut()) {
                            skipped++;
                            continue;
                        }
                        if ((pc.holds() & (1 << entry.segment())) != 0) {
                            throw CopyException.sourceUnreadable("the source sent segment " + entry.segment()
                                    + " of PC " + pc.pc() + ", which it was asked to leave out");
                        }
                        fills.add(
                                entry.zero()
                                        ? SegmentFill.zeros(entry.segment())
                                        : new SegmentFill(entry.segment(), pc.buffers()[entry.segment()].clear()));
                        fetched += entry.zero() ? 0 : ChunkEngine.SEGMENT_SIZE;
                    }
                    // the PC's segments in one fill: for a frozen lc one fsync and one journal force for all
                    int done = fills.isEmpty() ? 0 : engine.fillSegments(lcId, pc.pc(), fills);
                    for (SegmentFill fill : fills) {
                        if ((done & (1 << fill.segment())) == 0) {
                            skipped++;
                        } else {
                            filled++;
                            bytes += fill.data() == null ? 0 : ChunkEngine.SEGMENT_SIZE;
                        }
                    }
                    throttle(started, fetched, bytesPerSecond);
                }
            } finally {
                if (next != null) {
                    next.cancel(true);
                }
            }
        }
        engine.flush(lcId);
        return new Pulled(filled, skipped, bytes);
    }

    /**
     * A PC's entries from the source, their data checked and in {@code buffers} (segment {@code s}
     * in {@code buffers[s]}), and the segments this lc held when it was asked for.
     */
    private record Fetched(long pc, int holds, List<HeldPc.Entry> entries, ByteBuffer[] buffers) {}

    /**
     * Fetches the PC in the background: what this lc holds now, just before the PC is fetched (live
     * writes keep coming), is left out by the source.
     */
    private Future<Fetched> prefetch(
            long lcId, URI base, String token, long sourceLcId, long pc, ByteBuffer[] buffers) {
        return fetchers.submit(() -> {
            OwnedPc held = find(engine.ownSegments(lcId, pc, 1), pc);
            int holds = 0;
            for (int s = 0; held != null && s < ChunkEngine.SEGMENTS_PER_PC; s++) {
                if (held.state(s) != SegmentState.UNOWNED) {
                    holds |= 1 << s;
                }
            }
            return new Fetched(pc, holds, fetchPc(base, token, sourceLcId, pc, holds, buffers), buffers);
        });
    }

    private static Fetched await(Future<Fetched> fetch) {
        try {
            return fetch.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException failure) {
                throw failure;
            }
            if (e.getCause() instanceof Error error) {
                throw error;
            }
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw CopyException.sourceUnreadable("the fill was interrupted");
        }
    }

    private static @Nullable OwnedPc find(List<OwnedPc> pcs, long pc) {
        for (OwnedPc p : pcs) {
            if (p.pc() == pc) {
                return p;
            }
        }
        return null;
    }

    /**
     * The PCs of the pull ({@code first}, {@code first + stride}, …, {@code count} of them) in
     * {@code [at, at + span)} to fetch: all of them when the pull covers at most {@link #DIRECT_PCS}
     * (api-server's batches of a column: the source answers an empty body for a PC it holds nothing
     * in), else those where the source's listing says it holds anything.
     */
    private long[] heldPcs(
            URI base, String token, long sourceLcId, long at, long span, long first, long stride, long count)
            throws IOException {
        List<Long> pcs = new ArrayList<>();
        // the pull's first PC in the window
        long from = first + ((at - first + stride - 1) / stride) * stride;
        if (count <= DIRECT_PCS) {
            for (long pc = from; pc < at + span; pc += stride) {
                pcs.add(pc);
            }
        } else if (from < at + span) {
            // the window's PCs of the pull only, without CRCs (each PC's fetch brings its own): a
            // third of the listing for a column of three
            for (OwnedPcView listed : listing(base, token, sourceLcId, from, at + span - from, stride)
                    .pcs()) {
                long pc = listed.pc();
                if (pc < at || pc >= at + span) {
                    throw CopyException.sourceUnreadable("the source listed PC " + pc + " outside the PCs asked for");
                }
                if ((pc - first) % stride == 0) {
                    pcs.add(pc);
                }
            }
        }
        return pcs.stream().mapToLong(Long::longValue).toArray();
    }

    /**
     * The source's own segments of a PC but those in mask {@code without}, in one body ({@link
     * HeldPc}), every data segment checked against the CRCs sent with it. A mismatch means the
     * source changed the segment between reading its CRCs and its bytes (its read checks its own
     * CRCs), so the PC is fetched again.
     */
    private List<HeldPc.Entry> fetchPc(
            URI base, String token, long sourceLcId, long pc, int without, ByteBuffer[] buffers) {
        String path = "/v1/lcs/" + sourceLcId + "/segments/" + pc;
        String why = "";
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            Answered answered = client.get(
                    base,
                    token,
                    path,
                    "without=" + without,
                    HeldPc.MAX_BYTES,
                    (status, body) -> status != 200
                            ? new Answered(status, new String(body.readNBytes(4096), StandardCharsets.UTF_8), null)
                            : new Answered(status, "", HeldPc.read(body, buffers)));
            if (answered.entries() == null) {
                why = "it answered " + answered.status() + " " + answered.problem();
                if (answered.status() != 409) {
                    break;
                }
                continue;
            }
            why = "";
            for (HeldPc.Entry entry : answered.entries()) {
                int bad = entry.zero() || entry.leftOut()
                        ? -1
                        : HeldPc.firstMismatch(buffers[entry.segment()], entry.crcs());
                if (bad >= 0) {
                    why = "block " + bad + " of segment " + entry.segment() + " does not match its CRC32C";
                    break;
                }
            }
            if (why.isEmpty()) {
                return answered.entries();
            }
        }
        throw CopyException.sourceUnreadable(
                "PC " + pc + " of lc " + sourceLcId + " could not be fetched intact: " + why);
    }

    /** A PC's answer: its entries, or the status and problem of a refusal. */
    private record Answered(
            int status, String problem, @Nullable List<HeldPc.Entry> entries) {}

    /**
     * The source lc's own segments, without their CRCs, in PCs {@code firstPc}, {@code firstPc +
     * pcStride}, … below {@code firstPc + pcCount}.
     */
    private OwnedSegmentsView listing(
            URI base, String token, long sourceLcId, long firstPc, long pcCount, long pcStride) throws IOException {
        String path = "/v1/lcs/" + sourceLcId + "/segments";
        SourceClient.Answer response = client.get(
                base,
                token,
                path,
                "firstPc=" + firstPc + "&pcCount=" + pcCount + "&pcStride=" + pcStride + "&crcs=false",
                MAX_LISTING_BYTES);
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
