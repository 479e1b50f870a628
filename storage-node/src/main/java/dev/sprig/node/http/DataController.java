package dev.sprig.node.http;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.node.copy.RangeCopier;
import dev.sprig.node.metrics.DataPathMetrics;
import dev.sprig.node.rebuild.LiveWrites;
import dev.sprig.nodeapi.CopyFromRequest;
import dev.sprig.nodeapi.CopyFromResult;
import dev.sprig.nodeapi.CopySource;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.validation.Valid;
import java.io.IOException;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/**
 * The data path over HTTP: {@code curl -H "Authorization: Bearer $T" "$NODE/v1/lcs/7/data?offset=0&length=4096"}
 * reads, {@code curl -T file -H "Content-Type: application/octet-stream" "$NODE/v1/lcs/7/data?offset=0"}
 * writes. A write is durable after a flush, as on any disk.
 */
@RestController
class DataController {

    private final ChunkEngine engine;
    private final DataStreams streams;
    private final DataPathMetrics metrics;
    private final RangeCopier copier;
    private final LiveWrites writes;

    DataController(
            ChunkEngine engine, DataStreams streams, DataPathMetrics metrics, RangeCopier copier, LiveWrites writes) {
        this.engine = engine;
        this.streams = streams;
        this.metrics = metrics;
        this.copier = copier;
        this.writes = writes;
    }

    @GetMapping("/v1/lcs/{lcId}/data")
    void read(
            @PathVariable long lcId, @RequestParam long offset, @RequestParam long length, HttpServletResponse response)
            throws IOException {
        streams.read(lcId, offset, length, response);
    }

    @PutMapping(path = "/v1/lcs/{lcId}/data", consumes = MediaType.APPLICATION_OCTET_STREAM_VALUE)
    @ResponseStatus(HttpStatus.NO_CONTENT)
    void write(@PathVariable long lcId, @RequestParam long offset, HttpServletRequest request) throws IOException {
        streams.write(lcId, offset, request.getContentLengthLong(), request.getInputStream());
    }

    /**
     * Copies a range of an lc on another node into this lc, node to node; the segments that are all
     * zeros are not written. Answers the bytes stored.
     */
    @PostMapping("/v1/lcs/{lcId}:copyFrom")
    CopyFromResult copyFrom(@PathVariable long lcId, @Valid @RequestBody CopyFromRequest request) throws IOException {
        CopySource source = request.source();
        return new CopyFromResult(copier.copy(
                lcId, source.endpoint(), source.token(), source.lcId(), request.offset(), request.length()));
    }

    @PostMapping("/v1/lcs/{lcId}:flush")
    @ResponseStatus(HttpStatus.NO_CONTENT)
    void flush(@PathVariable long lcId) {
        metrics.time(DataPathMetrics.Op.FLUSH, () -> engine.flush(lcId));
    }

    @PostMapping("/v1/lcs/{lcId}:writeZeroes")
    @ResponseStatus(HttpStatus.NO_CONTENT)
    void writeZeroes(@PathVariable long lcId, @RequestParam long offset, @RequestParam long length) {
        metrics.time(DataPathMetrics.Op.WRITE_ZEROES, () -> writes.writeZeroes(lcId, offset, length));
    }

    @PostMapping("/v1/lcs/{lcId}:trim")
    @ResponseStatus(HttpStatus.NO_CONTENT)
    void trim(@PathVariable long lcId, @RequestParam long offset, @RequestParam long length) {
        metrics.time(DataPathMetrics.Op.TRIM, () -> writes.trim(lcId, offset, length));
    }
}
