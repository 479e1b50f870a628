package dev.sprig.node.copy;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.engine.SegmentState;
import dev.sprig.nodeapi.CopySource;
import dev.sprig.nodeapi.RepairResult;
import dev.sprig.nodeapi.SegmentContent;
import dev.sprig.nodeapi.SegmentRepair;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A replica scrub's repair of an lc here from the same lc on another member (issue 20): each
 * segment is fetched as the source holds it itself (the source checks its own CRCs as it reads),
 * and replaces this lc's segment only if the bytes match what the comparison saw there and this lc
 * still holds what the comparison saw here ({@link ChunkEngine#replaceSegmentIf}, under the
 * segment's lock). So a live write that lands on either side after the comparison is never undone:
 * the segment is skipped, and the next scrub compares it again.
 *
 * <p>For a segment that rotted on disk here, what it held and what it wants are the same metadata
 * (the CRCs are right, the bytes are not), so the guard checks that the fetched bytes are exactly
 * the ones its own CRCs describe.
 */
public final class SegmentRepairer {

    private static final Logger log = LoggerFactory.getLogger(SegmentRepairer.class);
    private static final int SEGMENT = ChunkEngine.SEGMENT_SIZE;
    private static final int BLOCKS = SEGMENT / 4096;

    private final ChunkEngine engine;
    private final SourceClient client;

    public SegmentRepairer(ChunkEngine engine, SourceClient client) {
        this.engine = engine;
        this.client = client;
    }

    /** Repairs the segments of lc {@code lcId} from {@code source}; the lc is flushed at the end. */
    public RepairResult repair(long lcId, CopySource source, List<SegmentRepair> segments) {
        URI base = RangeCopier.nodeBase(source.endpoint());
        long size = engine.info(lcId).sizeBytes();
        for (SegmentRepair repair : segments) {
            checkContent(repair.held(), "held", true);
            checkContent(repair.wanted(), "wanted", false);
            if (repair.segment() * SEGMENT >= size) {
                throw CopyException.invalid("segment " + repair.segment() + " lies past the end of lc " + lcId);
            }
        }
        long repaired = 0;
        long skipped = 0;
        long bytes = 0;
        for (SegmentRepair repair : segments) {
            long pc = repair.segment() / ChunkEngine.SEGMENTS_PER_PC;
            int s = (int) (repair.segment() % ChunkEngine.SEGMENTS_PER_PC);
            boolean zero = repair.wanted().state().equals("ZERO");
            @Nullable ByteBuffer data = null;
            if (!zero) {
                data = fetch(base, source, pc, s, crcs(repair.wanted()));
                if (data == null) {
                    skipped++;
                    continue;
                }
            }
            SegmentState held = SegmentState.valueOf(repair.held().state());
            int[] heldCrcs = held == SegmentState.DATA ? crcs(repair.held()) : null;
            if (engine.replaceSegmentIf(lcId, pc, s, held, heldCrcs, data)) {
                repaired++;
                bytes += zero ? 0 : SEGMENT;
            } else {
                skipped++;
            }
        }
        if (repaired > 0) {
            engine.flush(lcId);
        }
        return new RepairResult(repaired, skipped, bytes);
    }

    /** The source's own bytes of the segment if they match {@code wanted}; null if the source changed them. */
    private @Nullable ByteBuffer fetch(URI base, CopySource source, long pc, int s, int[] wanted) {
        String path = "/v1/lcs/" + source.lcId() + "/segments/" + pc + "/" + s;
        SourceClient.Answer answer = client.get(base, source.token(), path, null, SEGMENT);
        if (answer.statusCode() == 404) {
            log.info("Repair: the source no longer holds segment {} of PC {} of lc {} as data", s, pc, source.lcId());
            return null;
        }
        if (answer.statusCode() != 200 || answer.body().length != SEGMENT) {
            throw CopyException.sourceUnreadable("reading " + path + " at the source: it answered "
                    + answer.statusCode() + " with " + answer.body().length + " bytes");
        }
        ByteBuffer data = ByteBuffer.wrap(answer.body());
        if (HeldPc.firstMismatch(data, wanted) >= 0) {
            log.info(
                    "Repair: segment {} of PC {} of lc {} changed at the source since the comparison",
                    s,
                    pc,
                    source.lcId());
            return null;
        }
        return data;
    }

    private static void checkContent(SegmentContent content, String what, boolean mayBeUnowned) {
        boolean data = content.state().equals("DATA");
        if (!mayBeUnowned && content.state().equals("UNOWNED")) {
            throw CopyException.invalid("a repair installs DATA or ZERO; " + what + " is UNOWNED");
        }
        if (data ? content.crcs().size() != BLOCKS : !content.crcs().isEmpty()) {
            throw CopyException.invalid(what + " is " + content.state() + " with "
                    + content.crcs().size() + " CRCs; DATA has " + BLOCKS + ", the others none");
        }
    }

    private static int[] crcs(SegmentContent content) {
        return content.crcs().stream().mapToInt(Integer::intValue).toArray();
    }
}
