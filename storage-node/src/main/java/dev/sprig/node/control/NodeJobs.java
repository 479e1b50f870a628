package dev.sprig.node.control;

import dev.sprig.node.engine.ChunkEngine;
import dev.sprig.node.engine.EngineException;
import dev.sprig.node.engine.ScrubReport;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs flatten and scrub in the background so that the request that starts them returns at once and
 * the node keeps serving I/O and health checks meanwhile. One flatten per lc and one scrub per node
 * run at a time; starting one that is running returns the running one.
 */
public final class NodeJobs implements AutoCloseable {

    private final ChunkEngine engine;
    private final Clock clock;
    private final ExecutorService workers;
    private final Map<Long, AtomicReference<Job>> flattens = new ConcurrentHashMap<>();
    private final AtomicReference<Job> scrub = new AtomicReference<>();

    public NodeJobs(ChunkEngine engine, Clock clock) {
        this.engine = engine;
        this.clock = clock;
        var threads = new AtomicInteger();
        this.workers = Executors.newCachedThreadPool(work -> {
            var thread = new Thread(work, "node-job-" + threads.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
    }

    /** Starts flattening the lc unless a flatten of it is running; fails at once for an unknown lc. */
    public synchronized Job startFlatten(long lcId) {
        var total = engine.info(lcId).sizeBytes();
        AtomicReference<Job> current = flattens.get(lcId);
        if (current != null && current.get().state() == Job.State.RUNNING) {
            return current.get();
        }
        var job = new AtomicReference<>(
                new Job("flatten", lcId, Job.State.RUNNING, 0, pcs(total), clock.instant(), null, null, List.of()));
        flattens.put(lcId, job);
        workers.execute(() -> {
            try {
                engine.flatten(lcId, (done, all) -> job.updateAndGet(j -> withProgress(j, done, all)));
                job.updateAndGet(j -> finished(j, Job.State.SUCCEEDED, null, List.of()));
            } catch (EngineException failure) {
                job.updateAndGet(
                        j -> finished(j, Job.State.FAILED, failure.code() + ": " + failure.getMessage(), List.of()));
            }
        });
        return job.get();
    }

    public Optional<Job> flatten(long lcId) {
        return Optional.ofNullable(flattens.get(lcId)).map(AtomicReference::get);
    }

    public synchronized Job startScrub() {
        Job current = scrub.get();
        if (current != null && current.state() == Job.State.RUNNING) {
            return current;
        }
        Job started = new Job("scrub", null, Job.State.RUNNING, 0, 0, clock.instant(), null, null, List.of());
        scrub.set(started);
        workers.execute(() -> {
            try {
                ScrubReport report = engine.scrub();
                scrub.updateAndGet(j -> finished(
                        withProgress(j, report.segmentsChecked(), report.segmentsChecked()),
                        Job.State.SUCCEEDED,
                        null,
                        report.damaged()));
            } catch (EngineException failure) {
                scrub.updateAndGet(
                        j -> finished(j, Job.State.FAILED, failure.code() + ": " + failure.getMessage(), List.of()));
            }
        });
        return started;
    }

    public Optional<Job> scrub() {
        return Optional.ofNullable(scrub.get());
    }

    @Override
    public void close() {
        workers.shutdownNow();
    }

    private static long pcs(long sizeBytes) {
        return (sizeBytes + ChunkEngine.PC_SIZE - 1) / ChunkEngine.PC_SIZE;
    }

    private static Job withProgress(Job job, long done, long total) {
        return new Job(job.kind(), job.lcId(), job.state(), done, total, job.startedAt(), null, null, List.of());
    }

    private Job finished(Job job, Job.State state, String error, List<dev.sprig.node.engine.DamagedSegment> damaged) {
        return new Job(
                job.kind(),
                job.lcId(),
                state,
                job.done(),
                job.total(),
                job.startedAt(),
                clock.instant(),
                error,
                damaged);
    }
}
