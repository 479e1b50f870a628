package dev.sprig.node.http;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.engine.LcInfo;
import dev.sprig.engine.LcStats;
import dev.sprig.engine.NewLc;
import dev.sprig.engine.PcRuns;
import dev.sprig.engine.UnknownLcException;
import dev.sprig.node.control.LcDefiner;
import dev.sprig.node.control.NodeJobs;
import dev.sprig.node.rebuild.RebuildSources;
import dev.sprig.nodeapi.AllocationView;
import dev.sprig.nodeapi.BatchDefineRequest;
import dev.sprig.nodeapi.DefineResult;
import dev.sprig.nodeapi.GrowRequest;
import dev.sprig.nodeapi.Job;
import dev.sprig.nodeapi.LcDefinition;
import dev.sprig.nodeapi.LcSummary;
import dev.sprig.nodeapi.LcView;
import dev.sprig.nodeapi.PcRun;
import jakarta.validation.Valid;
import java.net.URI;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/** Control of lcs: batch definition, freeze, grow, delete, flatten. */
@RestController
class LcController {

    private final ChunkEngine engine;
    private final LcDefiner definer;
    private final NodeJobs jobs;
    private final RebuildSources rebuildSources;

    LcController(ChunkEngine engine, LcDefiner definer, NodeJobs jobs, RebuildSources rebuildSources) {
        this.engine = engine;
        this.definer = definer;
        this.jobs = jobs;
        this.rebuildSources = rebuildSources;
    }

    /** Parents must come before their children (or already exist); the batch applies whole or not at all. */
    @PostMapping("/v1/lcs:batchDefine")
    DefineResult define(@Valid @RequestBody BatchDefineRequest request) {
        request.lcs().forEach(lc -> checkSize(lc.sizeBytes()));
        return definer.define(request.lcs().stream().map(LcController::toNewLc).toList());
    }

    /** Every lc this node holds, without statistics: what api-server compares with its database. */
    @GetMapping("/v1/lcs")
    List<LcSummary> list() {
        return engine.list().stream().map(LcController::summary).toList();
    }

    @GetMapping("/v1/lcs/{lcId}")
    LcView get(@PathVariable long lcId) {
        return view(lcId);
    }

    @PostMapping("/v1/lcs/{lcId}:freeze")
    LcView freeze(@PathVariable long lcId) {
        engine.freeze(lcId);
        return view(lcId);
    }

    @PostMapping("/v1/lcs/{lcId}:grow")
    LcView grow(@PathVariable long lcId, @Valid @RequestBody GrowRequest request) {
        checkSize(request.sizeBytes());
        engine.grow(lcId, request.sizeBytes());
        return view(lcId);
    }

    /**
     * Refused here with a 400 naming the limit; the engine refuses such sizes too, but as
     * {@code OUT_OF_RANGE}, which this API answers 416 for reads and writes past an lc's end.
     */
    private static void checkSize(long sizeBytes) {
        if (sizeBytes > ChunkEngine.MAX_SIZE) {
            throw new RequestRejectedException(
                    HttpStatus.BAD_REQUEST,
                    "INVALID_ARGUMENT",
                    "sizeBytes " + sizeBytes + " is above the maximum of " + ChunkEngine.MAX_SIZE + " bytes (64 TiB)");
        }
    }

    /** Deleting an lc that is already gone succeeds: the caller's intent holds. Its rebuild source goes too. */
    @DeleteMapping("/v1/lcs/{lcId}")
    @ResponseStatus(HttpStatus.NO_CONTENT)
    void delete(@PathVariable long lcId) {
        try {
            engine.delete(lcId);
        } catch (UnknownLcException alreadyGone) {
            // nothing to do
        }
        rebuildSources.remove(lcId);
    }

    /**
     * Which PCs of the lc can hold anything but zeros (held by the lc or an ancestor on this node):
     * what a copy of the lc visits, so that its work follows the data, not the declared size.
     */
    @GetMapping("/v1/lcs/{lcId}/allocation")
    AllocationView allocation(@PathVariable long lcId) {
        return new AllocationView(ChunkEngine.PC_SIZE, PcRuns.of(engine.pcsWithData(lcId), PcRun::new));
    }

    @PostMapping("/v1/lcs/{lcId}:flatten")
    ResponseEntity<Job> flatten(@PathVariable long lcId) {
        Job job = jobs.startFlatten(lcId);
        return ResponseEntity.accepted()
                .location(URI.create("/v1/lcs/" + lcId + "/flatten"))
                .body(job);
    }

    @GetMapping("/v1/lcs/{lcId}/flatten")
    Job flattenProgress(@PathVariable long lcId) {
        return jobs.flatten(lcId)
                .orElseThrow(() -> new RequestRejectedException(
                        HttpStatus.NOT_FOUND, "NOT_FOUND", "no flatten of lc " + lcId + " was started"));
    }

    /** Stops a running flatten at its next PC; the job, ended or ending, is answered. */
    @PostMapping("/v1/lcs/{lcId}/flatten:cancel")
    Job cancelFlatten(@PathVariable long lcId) {
        return jobs.cancelFlatten(lcId)
                .orElseThrow(() -> new RequestRejectedException(
                        HttpStatus.NOT_FOUND, "NOT_FOUND", "no flatten of lc " + lcId + " was started"));
    }

    private LcView view(long lcId) {
        LcInfo info = engine.info(lcId);
        LcStats stats = engine.stats(lcId);
        return new LcView(
                info.lcId(),
                parent(info),
                info.sizeBytes(),
                info.frozen(),
                info.children(),
                stats.segmentsOwned(),
                stats.zeroSegments(),
                stats.pcsAllocated(),
                stats.bytesStored());
    }

    private static NewLc toNewLc(LcDefinition lc) {
        return new NewLc(lc.lcId(), lc.parentLcId(), lc.sizeBytes(), Boolean.TRUE.equals(lc.frozen()));
    }

    private static LcSummary summary(LcInfo info) {
        return new LcSummary(info.lcId(), parent(info), info.sizeBytes(), info.frozen());
    }

    private static @Nullable Long parent(LcInfo info) {
        return info.parentLcId().isPresent() ? info.parentLcId().getAsLong() : null;
    }
}
