package dev.sprig.node.http;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.node.metrics.DataPathMetrics;
import dev.sprig.node.rebuild.LiveWrites;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;

/**
 * Moves byte ranges between HTTP bodies and the engine in bounded pieces, so that a 64 MiB request
 * never holds more than one piece in memory. Ranges are checked against the lc before the first
 * byte moves: a request outside the lc reads and writes nothing. Writes go through {@link
 * LiveWrites}: what a rebuilding lc lacks for the whole request is read from its rebuild source
 * before the first piece is written, and pieces end on segment boundaries.
 */
final class DataStreams {

    /** Four segments: large enough for sequential throughput, small enough to keep per-request memory low. */
    static final int PIECE = 1 << 20;

    private final ChunkEngine engine;
    private final LiveWrites writes;
    private final long maxBodyBytes;
    private final DataPathMetrics metrics;

    DataStreams(ChunkEngine engine, LiveWrites writes, long maxBodyBytes, DataPathMetrics metrics) {
        this.engine = engine;
        this.writes = writes;
        this.maxBodyBytes = maxBodyBytes;
        this.metrics = metrics;
    }

    void read(long lcId, long offset, long length, HttpServletResponse response) throws IOException {
        checkRange(lcId, offset, length);
        // The first piece is read before the status line is sent, so a corrupt or failing read of a
        // small range still gets a proper problem response instead of a cut-off body.
        ByteBuffer piece = ByteBuffer.allocate((int) Math.min(PIECE, length));
        long position = offset;
        long end = offset + length;
        readPiece(lcId, position, piece, end);
        response.setStatus(HttpStatus.OK.value());
        response.setContentType(MediaType.APPLICATION_OCTET_STREAM_VALUE);
        response.setContentLengthLong(length);
        OutputStream out = response.getOutputStream();
        while (true) {
            out.write(piece.array(), 0, piece.limit());
            position += piece.limit();
            if (position >= end) {
                break;
            }
            readPiece(lcId, position, piece, end);
        }
    }

    void write(long lcId, long offset, long contentLength, InputStream body) throws IOException {
        if (contentLength < 0) {
            throw new RequestRejectedException(
                    HttpStatus.LENGTH_REQUIRED, "LENGTH_REQUIRED", "a data write needs a Content-Length");
        }
        checkRange(lcId, offset, contentLength);
        // a rebuilding lc's partial segments, read from its source before any byte of the body
        writes.prepareWrite(lcId, offset, contentLength);
        byte[] piece = new byte[(int) Math.min(PIECE, contentLength)];
        long position = offset;
        long remaining = contentLength;
        while (remaining > 0) {
            // pieces end on a multiple of PIECE, hence of a segment: no piece covers only part of a
            // segment the request covers whole (on a rebuilding lc it would read the source again)
            int want = (int) Math.min(PIECE - position % PIECE, remaining);
            int got = body.readNBytes(piece, 0, want);
            if (got < want) {
                throw new RequestRejectedException(
                        HttpStatus.BAD_REQUEST,
                        "INVALID_ARGUMENT",
                        "the body ended after " + (contentLength - remaining + got) + " of " + contentLength
                                + " bytes; the bytes before were written");
            }
            long at = position;
            metrics.time(DataPathMetrics.Op.WRITE, () -> writes.write(lcId, at, ByteBuffer.wrap(piece, 0, want)));
            metrics.written(want);
            position += want;
            remaining -= want;
        }
    }

    void checkRange(long lcId, long offset, long length) {
        if (length > maxBodyBytes) {
            throw new RequestRejectedException(
                    HttpStatus.CONTENT_TOO_LARGE,
                    "PAYLOAD_TOO_LARGE",
                    length + " bytes is more than the " + maxBodyBytes + " one request may carry");
        }
        long size = engine.info(lcId).sizeBytes();
        if (offset < 0 || length < 0 || offset > size || length > size - offset) {
            throw new RangeNotSatisfiableException(
                    size, "bytes " + offset + "+" + length + " are outside lc " + lcId + " of " + size + " bytes");
        }
    }

    private void readPiece(long lcId, long position, ByteBuffer piece, long end) {
        piece.clear().limit((int) Math.min(piece.capacity(), end - position));
        metrics.time(DataPathMetrics.Op.READ, () -> engine.read(lcId, position, piece));
        piece.flip();
        metrics.read(piece.limit());
    }

    /** 416 with the lc's size in {@code Content-Range}, as RFC 9110 asks. */
    static final class RangeNotSatisfiableException extends RuntimeException {
        private final long size;

        RangeNotSatisfiableException(long size, String detail) {
            super(detail);
            this.size = size;
        }

        String contentRange() {
            return "bytes */" + size;
        }

        static String header() {
            return HttpHeaders.CONTENT_RANGE;
        }
    }
}
