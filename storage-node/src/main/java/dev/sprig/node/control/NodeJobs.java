package dev.sprig.node.control;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.sprig.engine.ChunkEngine;
import dev.sprig.engine.EngineException;
import dev.sprig.engine.ScrubReport;
import dev.sprig.nodeapi.DamagedSegment;
import dev.sprig.nodeapi.Job;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs flatten and scrub in the background so that the request that starts them returns at once and
 * the node keeps serving I/O and health checks meanwhile. One flatten per lc and one scrub per node
 * run at a time; starting one that is running returns the running one.
 *
 * <p>A job ends {@code SUCCEEDED} or {@code FAILED} whatever its work throws, so a poller never
 * waits on a job that died. Running flattens are kept until they end (their number is bounded by
 * the lcs that exist); finished ones are kept for a day and at most {@link #FINISHED_FLATTENS_KEPT},
 * so that a node that flattens for months does not keep every result it ever produced.
 */
public final class NodeJobs implements AutoCloseable {

    /** Finished flattens kept for their pollers. */
    static final int FINISHED_FLATTENS_KEPT = 10_000;

    private static final Duration FINISHED_KEPT_FOR = Duration.ofDays(1);
    private static final Logger log = LoggerFactory.getLogger(NodeJobs.class);

    private final ChunkEngine engine;
    private final Clock clock;
    private final ExecutorService workers;
    private final Map<Long, AtomicReference<Job>> runningFlattens = new ConcurrentHashMap<>();
    private final Cache<Long, Job> finishedFlattens;
    private final AtomicReference<Job> scrub = new AtomicReference<>();
    /** Running flattens asked to stop (by identity): each stops at its next PC. */
    private final java.util.Set<AtomicReference<Job>> cancelled = ConcurrentHashMap.newKeySet();

    public NodeJobs(ChunkEngine engine, Clock clock) {
        this(engine, clock, FINISHED_FLATTENS_KEPT);
    }

    NodeJobs(ChunkEngine engine, Clock clock, int finishedFlattensKept) {
        this.engine = engine;
        this.clock = clock;
        this.finishedFlattens = Caffeine.newBuilder()
                .maximumSize(finishedFlattensKept)
                .expireAfterWrite(FINISHED_KEPT_FOR)
                .build();
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
        AtomicReference<Job> current = runningFlattens.get(lcId);
        // a job that has ended but not yet been retired by its worker is not running: start anew
        if (current != null && current.get().state() == Job.State.RUNNING) {
            return current.get();
        }
        var job = new AtomicReference<>(
                new Job("flatten", lcId, Job.State.RUNNING, 0, pcs(total), clock.instant(), null, null, List.of()));
        runningFlattens.put(lcId, job);
        // the answer is the job as started: a flatten refused at once may end before execute returns
        Job started = job.get();
        workers.execute(() -> {
            try {
                run(job, () -> {
                    engine.flatten(lcId, (done, all) -> {
                        if (cancelled.contains(job)) {
                            throw new FlattenCancelled();
                        }
                        job.updateAndGet(j -> withProgress(j, done, all));
                    });
                    return j -> finished(j, Job.State.SUCCEEDED, null, List.of());
                });
            } finally {
                retire(lcId, job);
                cancelled.remove(job);
            }
        });
        return started;
    }

    /**
     * Stops the running flatten of the lc at its next PC (api-server cancelled the operation it
     * belonged to); the job then ends {@code FAILED} with {@code CANCELLED}, the lc still attached.
     * What it copied stays: it reads the same. Empty when no flatten of the lc was started.
     */
    public synchronized Optional<Job> cancelFlatten(long lcId) {
        AtomicReference<Job> running = runningFlattens.get(lcId);
        if (running != null && running.get().state() == Job.State.RUNNING) {
            cancelled.add(running);
        }
        return flatten(lcId);
    }

    /** Unwinds a cancelled flatten from its progress report. */
    private static final class FlattenCancelled extends RuntimeException {
        FlattenCancelled() {
            super("CANCELLED: the flatten was cancelled", null, false, false);
        }
    }

    /**
     * Moves an ended flatten to the finished ones, unless a new flatten of the lc has replaced it
     * already (its result is then stale). Kept among the finished before it leaves the running, so
     * that a poller always finds it.
     */
    private synchronized void retire(long lcId, AtomicReference<Job> job) {
        if (runningFlattens.get(lcId) == job) {
            finishedFlattens.put(lcId, job.get());
            runningFlattens.remove(lcId, job);
        }
    }

    public Optional<Job> flatten(long lcId) {
        AtomicReference<Job> running = runningFlattens.get(lcId);
        return running != null ? Optional.of(running.get()) : Optional.ofNullable(finishedFlattens.getIfPresent(lcId));
    }

    public synchronized Job startScrub() {
        Job current = scrub.get();
        if (current != null && current.state() == Job.State.RUNNING) {
            return current;
        }
        Job started = new Job("scrub", null, Job.State.RUNNING, 0, 0, clock.instant(), null, null, List.of());
        scrub.set(started);
        workers.execute(() -> run(scrub, () -> {
            ScrubReport report = engine.scrub();
            return j -> finished(
                    withProgress(j, report.segmentsChecked(), report.segmentsChecked()),
                    Job.State.SUCCEEDED,
                    null,
                    report.damaged().stream()
                            .map(d -> new DamagedSegment(d.lcId(), d.pcIndex(), d.segment()))
                            .toList());
        }));
        return started;
    }

    public Optional<Job> scrub() {
        return Optional.ofNullable(scrub.get());
    }

    /** Finished flattens kept now (after pending evictions), for tests. */
    long finishedFlattensKept() {
        finishedFlattens.cleanUp();
        return finishedFlattens.estimatedSize();
    }

    @Override
    public void close() {
        workers.shutdownNow();
    }

    /** Work that returns how its job ends. */
    private interface Work {
        UnaryOperator<Job> run();
    }

    /**
     * Runs the work and ends the job with its outcome, or as failed with whatever it threw: an engine
     * failure by its code, anything else (a bug, an {@link Error} such as the {@code InternalError}
     * of a mapped read of a file truncated behind the engine's back) by its type, and logged. Not
     * rethrown: it would only end the worker thread, and the job and the log already say it.
     */
    private void run(AtomicReference<Job> job, Work work) {
        try {
            job.updateAndGet(work.run());
        } catch (FlattenCancelled stopped) {
            job.updateAndGet(j -> finished(j, Job.State.FAILED, stopped.getMessage(), List.of()));
        } catch (EngineException failure) {
            job.updateAndGet(
                    j -> finished(j, Job.State.FAILED, failure.code() + ": " + failure.getMessage(), List.of()));
        } catch (RuntimeException | Error failure) {
            log.error("{} job failed", job.get().kind(), failure);
            job.updateAndGet(j -> finished(j, Job.State.FAILED, failure.toString(), List.of()));
        }
    }

    private static long pcs(long sizeBytes) {
        return (sizeBytes + ChunkEngine.PC_SIZE - 1) / ChunkEngine.PC_SIZE;
    }

    private static Job withProgress(Job job, long done, long total) {
        return new Job(job.kind(), job.lcId(), job.state(), done, total, job.startedAt(), null, null, List.of());
    }

    private Job finished(Job job, Job.State state, @Nullable String error, List<DamagedSegment> damaged) {
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
