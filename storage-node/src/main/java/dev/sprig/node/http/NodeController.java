package dev.sprig.node.http;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.engine.EngineStats;
import dev.sprig.node.control.NodeJobs;
import dev.sprig.node.metrics.DataPathMetrics;
import dev.sprig.node.storage.NodeDataDir;
import dev.sprig.nodeapi.Job;
import dev.sprig.nodeapi.NodeView;
import java.io.IOException;
import java.net.URI;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/** The node as a whole: capacity and use, flush of everything, scrub. */
@RestController
class NodeController {

    private final ChunkEngine engine;
    private final NodeJobs jobs;
    private final Path dataDir;
    private final DataPathMetrics metrics;

    NodeController(ChunkEngine engine, NodeJobs jobs, NodeDataDir dataDir, DataPathMetrics metrics) {
        this.engine = engine;
        this.jobs = jobs;
        this.dataDir = dataDir.path();
        this.metrics = metrics;
    }

    @GetMapping("/v1/node")
    NodeView node() throws IOException {
        FileStore store = Files.getFileStore(dataDir);
        EngineStats stats = engine.stats();
        return new NodeView(
                store.getTotalSpace(),
                store.getUsableSpace(),
                stats.bytesStored(),
                stats.lcs(),
                stats.segmentsOwned(),
                stats.pcsAllocated(),
                stats.journalBytes(),
                stats.checkpointFailure());
    }

    @PostMapping("/v1/node:flush")
    @ResponseStatus(HttpStatus.NO_CONTENT)
    void flushAll() {
        metrics.time(DataPathMetrics.Op.FLUSH, engine::flushAll);
    }

    @PostMapping("/v1/node:scrub")
    ResponseEntity<Job> scrub() {
        return ResponseEntity.accepted().location(URI.create("/v1/node/scrub")).body(jobs.startScrub());
    }

    @GetMapping("/v1/node/scrub")
    Job scrubProgress() {
        return jobs.scrub()
                .orElseThrow(
                        () -> new RequestRejectedException(HttpStatus.NOT_FOUND, "NOT_FOUND", "no scrub was started"));
    }
}
