package dev.sprig.node.http;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.engine.OwnedPc;
import dev.sprig.engine.SegmentState;
import dev.sprig.node.copy.HeldPc;
import dev.sprig.node.copy.SegmentPuller;
import dev.sprig.nodeapi.CopySource;
import dev.sprig.nodeapi.FillFromRequest;
import dev.sprig.nodeapi.FillFromResult;
import dev.sprig.nodeapi.FillResult;
import dev.sprig.nodeapi.OwnedSegmentsView;
import dev.sprig.nodeapi.OwnedSegmentsView.OwnedPcView;
import dev.sprig.nodeapi.OwnedSegmentsView.OwnedSegmentView;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.validation.Valid;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * An lc's own segments, for replicas healing from one another: which segments the lc holds itself
 * (with their block CRCs), the bytes of one it holds as data, and filling one it does not hold yet.
 * A fill never overwrites a segment the lc holds, so a client write that got there first wins:
 *
 * <pre>
 * curl -H "Authorization: Bearer $T" "$NODE/v1/lcs/7/segments?firstPc=0&amp;pcCount=256"
 * curl -H "Authorization: Bearer $T" "$NODE/v1/lcs/7/segments/3/5" -o seg
 * curl -H "Authorization: Bearer $T" -T seg -H "Content-Type: application/octet-stream" "$NODE/v1/lcs/8/segments/3/5"
 * curl -H "Authorization: Bearer $T" -X PUT "$NODE/v1/lcs/8/segments/3/6?zero=true"
 * </pre>
 */
@RestController
class SegmentController {

    /** A PC's response buffer: Tomcat's socket write buffer on a node (NodeConfiguration). */
    static final int RESPONSE_BUFFER_BYTES = 64 * 1024;

    /** PCs one listing may cover: 4 GiB of address space, at most about 10 MB of JSON. */
    static final long MAX_PCS = 1024;

    private final ChunkEngine engine;
    private final SegmentPuller puller;

    SegmentController(ChunkEngine engine, SegmentPuller puller) {
        this.engine = engine;
        this.puller = puller;
    }

    /**
     * Fills this lc, in PCs {@code firstPc}, {@code firstPc + pcStride}, … ({@code pcCount} of
     * them), with every segment the source lc
     * on another node holds that this lc does not hold yet, each checked against the source's CRCs,
     * at most {@code bytesPerSecond} a second; segments this lc holds (live writes) are kept. The lc
     * is flushed at the end. Answers the counts.
     */
    @PostMapping("/v1/lcs/{lcId}:fillFrom")
    FillFromResult fillFrom(@PathVariable long lcId, @Valid @RequestBody FillFromRequest request) throws IOException {
        CopySource source = request.source();
        Long rate = request.bytesPerSecond();
        Long stride = request.pcStride();
        SegmentPuller.Pulled pulled = puller.pull(
                lcId,
                source.endpoint(),
                source.token(),
                source.lcId(),
                request.firstPc(),
                request.pcCount(),
                stride == null ? 1 : stride,
                rate == null ? 0 : rate);
        return new FillFromResult(pulled.segmentsFilled(), pulled.segmentsSkipped(), pulled.bytesCopied());
    }

    /**
     * What the lc holds itself in PCs {@code firstPc}, {@code firstPc + pcStride}, … below {@code
     * firstPc + pcCount} (a stripe column's, with a stride of the column count), with each data
     * segment's block CRCs unless {@code crcs} is false (a plan needs only the states, and the CRCs
     * are most of a listing's bytes). With {@code digest}, a data segment's CRCs are one value, the
     * CRC32C of its 64 block CRCs: enough to tell two copies apart (a rebuild's verification), in a
     * 64th of the bytes.
     */
    @GetMapping("/v1/lcs/{lcId}/segments")
    OwnedSegmentsView list(
            @PathVariable long lcId,
            @RequestParam long firstPc,
            @RequestParam long pcCount,
            @RequestParam(defaultValue = "1") long pcStride,
            @RequestParam(defaultValue = "true") boolean crcs,
            @RequestParam(defaultValue = "false") boolean digest) {
        if (firstPc < 0 || pcCount < 1 || pcCount > MAX_PCS) {
            throw new RequestRejectedException(
                    HttpStatus.BAD_REQUEST,
                    "INVALID_ARGUMENT",
                    "firstPc must be at least 0 and pcCount between 1 and " + MAX_PCS + "; got firstPc=" + firstPc
                            + ", pcCount=" + pcCount);
        }
        if (pcStride < 1 || pcStride > MAX_PCS) {
            throw new RequestRejectedException(
                    HttpStatus.BAD_REQUEST,
                    "INVALID_ARGUMENT",
                    "pcStride must be between 1 and " + MAX_PCS + "; got " + pcStride);
        }
        long pcs = (engine.info(lcId).sizeBytes() + ChunkEngine.PC_SIZE - 1) / ChunkEngine.PC_SIZE;
        // a listing may run past the lc's end (it is cut there), but must start inside it
        long count = firstPc < pcs ? Math.min(pcCount, pcs - firstPc) : pcCount;
        List<OwnedPcView> views = new ArrayList<>();
        for (OwnedPc pc : engine.ownSegments(lcId, firstPc, count)) {
            if ((pc.pc() - firstPc) % pcStride != 0) {
                continue;
            }
            List<OwnedSegmentView> segments = new ArrayList<>();
            for (int s = 0; s < pc.states().size(); s++) {
                SegmentState state = pc.state(s);
                if (state == SegmentState.UNOWNED) {
                    continue;
                }
                int[] blockCrcs = pc.crcs().get(s);
                segments.add(new OwnedSegmentView(
                        s,
                        state.name(),
                        blockCrcs == null || !crcs
                                ? List.of()
                                : digest
                                        ? List.of(digest(blockCrcs))
                                        : Arrays.stream(blockCrcs).boxed().toList()));
            }
            views.add(new OwnedPcView(pc.pc(), segments));
        }
        return new OwnedSegmentsView(lcId, firstPc, count, views);
    }

    /** The CRC32C of a segment's block CRCs, each big-endian. */
    static int digest(int[] blockCrcs) {
        ByteBuffer bytes = ByteBuffer.allocate(blockCrcs.length * Integer.BYTES);
        bytes.asIntBuffer().put(blockCrcs);
        CRC32C crc = new CRC32C();
        crc.update(bytes);
        return (int) crc.getValue();
    }

    /**
     * What the lc holds itself in PC {@code pc}, with the bytes of its data segments, in one body
     * ({@link HeldPc}), leaving out the segments in mask {@code without} (those the caller holds):
     * a rebuild's fetch of a PC in one request. A segment that stops being data between the listing
     * and its read (a live zero write) has the PC listed again.
     */
    @GetMapping("/v1/lcs/{lcId}/segments/{pc}")
    void readPc(
            @PathVariable long lcId,
            @PathVariable long pc,
            @RequestParam(defaultValue = "0") int without,
            HttpServletResponse response)
            throws IOException {
        checkAddress(pc, 0);
        for (int attempt = 0; ; attempt++) {
            List<OwnedPc> held = engine.ownSegments(lcId, pc, 1);
            HeldPc.Body body = HeldPc.read(
                    held.isEmpty() ? null : held.get(0),
                    without,
                    (wanted, dst) -> engine.readOwnSegments(lcId, pc, wanted, dst));
            if (body != null) {
                // Tomcat hands a body to the socket in pieces of this buffer (8 KiB by default), and
                // copies pieces smaller than its socket buffer into that first: at the socket
                // buffer's size (NodeConfiguration) they go from the segments' arrays to the socket
                response.setBufferSize(RESPONSE_BUFFER_BYTES);
                response.setStatus(HttpStatus.OK.value());
                response.setContentType(MediaType.APPLICATION_OCTET_STREAM_VALUE);
                response.setContentLength(body.length());
                HeldPc.write(body, without, response.getOutputStream());
                return;
            }
            if (attempt == 2) {
                throw new RequestRejectedException(
                        HttpStatus.CONFLICT,
                        "SEGMENTS_CHANGING",
                        "PC " + pc + " of lc " + lcId + " changed under three readings; ask again");
            }
        }
    }

    @GetMapping("/v1/lcs/{lcId}/segments/{pc}/{segment}")
    void read(@PathVariable long lcId, @PathVariable long pc, @PathVariable int segment, HttpServletResponse response)
            throws IOException {
        checkAddress(pc, segment);
        ByteBuffer dst = ByteBuffer.allocate(ChunkEngine.SEGMENT_SIZE);
        SegmentState state = engine.readOwnSegment(lcId, pc, segment, dst);
        if (state != SegmentState.DATA) {
            throw new RequestRejectedException(
                    HttpStatus.NOT_FOUND,
                    "SEGMENT_NOT_HELD",
                    "lc " + lcId + " holds segment " + segment + " of PC " + pc + " as " + state + ", not as data");
        }
        response.setStatus(HttpStatus.OK.value());
        response.setContentType(MediaType.APPLICATION_OCTET_STREAM_VALUE);
        response.setContentLength(ChunkEngine.SEGMENT_SIZE);
        response.getOutputStream().write(dst.array());
    }

    /**
     * Fills the segment with the body (exactly 256 KiB), or with zeros ({@code zero=true} and no
     * body), only if the lc does not hold it yet: 201 filled, 200 already held (nothing changed).
     */
    @PutMapping("/v1/lcs/{lcId}/segments/{pc}/{segment}")
    ResponseEntity<FillResult> fill(
            @PathVariable long lcId,
            @PathVariable long pc,
            @PathVariable int segment,
            @RequestParam(defaultValue = "false") boolean zero,
            HttpServletRequest request)
            throws IOException {
        checkAddress(pc, segment);
        long declared = request.getContentLengthLong();
        boolean filled;
        if (zero) {
            if (declared > 0 || request.getInputStream().read() >= 0) {
                throw new RequestRejectedException(
                        HttpStatus.BAD_REQUEST, "INVALID_ARGUMENT", "a zero fill carries no body");
            }
            filled = engine.fillZeroSegment(lcId, pc, segment);
        } else {
            if (declared > ChunkEngine.SEGMENT_SIZE) {
                throw tooLarge(declared);
            }
            if (!octetStream(request.getContentType())) {
                throw new RequestRejectedException(
                        HttpStatus.UNSUPPORTED_MEDIA_TYPE,
                        "UNSUPPORTED_MEDIA_TYPE",
                        "a segment fill is sent as application/octet-stream");
            }
            byte[] body = readBody(request.getInputStream());
            filled = engine.fillSegment(lcId, pc, segment, ByteBuffer.wrap(body));
        }
        return ResponseEntity.status(filled ? HttpStatus.CREATED : HttpStatus.OK)
                .body(new FillResult(filled));
    }

    /** Whether {@code type} is application/octet-stream; a type that does not parse is not. */
    private static boolean octetStream(@org.jspecify.annotations.Nullable String type) {
        try {
            return type != null && MediaType.APPLICATION_OCTET_STREAM.isCompatibleWith(MediaType.parseMediaType(type));
        } catch (org.springframework.http.InvalidMediaTypeException malformed) {
            return false;
        }
    }

    /** Exactly one segment: a body of any other size is refused before anything is written. */
    private static byte[] readBody(InputStream in) throws IOException {
        byte[] body = in.readNBytes(ChunkEngine.SEGMENT_SIZE);
        if (body.length < ChunkEngine.SEGMENT_SIZE) {
            throw new RequestRejectedException(
                    HttpStatus.BAD_REQUEST,
                    "INVALID_ARGUMENT",
                    "a segment fill carries exactly " + ChunkEngine.SEGMENT_SIZE + " bytes; the body has "
                            + body.length);
        }
        if (in.read() >= 0) {
            throw tooLarge(-1);
        }
        return body;
    }

    private static RequestRejectedException tooLarge(long declared) {
        return new RequestRejectedException(
                HttpStatus.PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                "a segment fill carries exactly " + ChunkEngine.SEGMENT_SIZE + " bytes"
                        + (declared >= 0 ? "; the body has " + declared : "; the body has more"));
    }

    private static void checkAddress(long pc, int segment) {
        if (pc < 0 || segment < 0 || segment >= ChunkEngine.SEGMENTS_PER_PC) {
            throw new RequestRejectedException(
                    HttpStatus.BAD_REQUEST,
                    "INVALID_ARGUMENT",
                    "a segment is addressed by a PC (at least 0) and a segment number from 0 to "
                            + (ChunkEngine.SEGMENTS_PER_PC - 1) + "; got " + pc + "/" + segment);
        }
    }
}
