package dev.sprig.node.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.engine.EngineConfig;
import dev.sprig.nodeapi.Job;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NodeJobsTest {

    private static final long PC = ChunkEngine.PC_SIZE;

    @TempDir
    Path dir;

    private ChunkEngine engine;

    @BeforeEach
    void open() {
        engine = ChunkEngine.open(dir);
        byte[] image = new byte[(int) (2 * PC)];
        new Random(1).nextBytes(image);
        engine.create(1, image.length);
        engine.write(1, 0, image);
        engine.freeze(1);
    }

    @AfterEach
    void close() {
        engine.close();
    }

    @Test
    void aFlattenThatThrowsSomethingOtherThanAnEngineFailureEndsFailedWithTheReason() throws Exception {
        // buffered reads only: with direct I/O the engine reads an ancestor's uncached segment with
        // pread, which sees the truncated file as zeros and reports corruption, an engine failure
        engine.close();
        engine = ChunkEngine.open(dir, EngineConfig.defaults().withDirectIo(false));
        engine.createChild(2, 1);
        engine.read(1, 0, 4096); // maps the image's file
        try (FileChannel file = FileChannel.open(dir.resolve("lc-1.data"), StandardOpenOption.WRITE)) {
            file.truncate(0); // behind the engine's back: its mapped reads now raise InternalError
        }
        try (NodeJobs jobs = new NodeJobs(engine, Clock.systemUTC())) {

            jobs.startFlatten(2);

            Job ended = awaitEnd(jobs, 2);
            assertThat(ended.state()).isEqualTo(Job.State.FAILED);
            assertThat(ended.error()).contains("InternalError");
            assertThat(ended.finishedAt()).isNotNull();
        }
    }

    @Test
    void cancellingAFlattenThatEndedOrNeverStartedChangesNothing() throws Exception {
        engine.createChild(2, 1);
        try (NodeJobs jobs = new NodeJobs(engine, Clock.systemUTC())) {
            assertThat(jobs.cancelFlatten(2)).isEmpty();
            jobs.startFlatten(2);
            assertThat(awaitEnd(jobs, 2).state()).isEqualTo(Job.State.SUCCEEDED);

            assertThat(jobs.cancelFlatten(2)).hasValueSatisfying(job -> {
                assertThat(job.state()).isEqualTo(Job.State.SUCCEEDED);
                assertThat(job.error()).isNull();
            });
            assertThat(engine.info(2).parentLcId()).isEmpty();
        }
    }

    @Test
    void aCancelledFlattenEndsFailedCancelledWithItsLcStillAttachedOrHadAlreadySucceeded() throws Exception {
        engine.createChild(2, 1);
        try (NodeJobs jobs = new NodeJobs(engine, Clock.systemUTC())) {
            jobs.startFlatten(2);
            jobs.cancelFlatten(2);

            Job ended = awaitEnd(jobs, 2);
            if (ended.state() == Job.State.FAILED) {
                assertThat(ended.error()).startsWith("CANCELLED");
                assertThat(engine.info(2).parentLcId()).hasValue(1);
            } else {
                assertThat(engine.info(2).parentLcId()).as("it finished first").isEmpty();
            }
            assertThat(engine.read(2, 0, (int) PC)).isEqualTo(engine.read(1, 0, (int) PC));
        }
    }

    @Test
    void aFailedFlattenCanBeStartedAgain() throws Exception {
        engine.createChild(2, 1);
        engine.freeze(2); // a frozen lc cannot be flattened
        try (NodeJobs jobs = new NodeJobs(engine, Clock.systemUTC())) {
            jobs.startFlatten(2);
            assertThat(awaitEnd(jobs, 2).error()).startsWith("LC_FROZEN");

            Job again = jobs.startFlatten(2);

            assertThat(again.state()).isEqualTo(Job.State.RUNNING);
            assertThat(awaitEnd(jobs, 2).state()).isEqualTo(Job.State.FAILED);
        }
    }

    @Test
    void finishedFlattensAreKeptUpToABoundAndTheNewestIsReported() throws Exception {
        try (NodeJobs jobs = new NodeJobs(engine, Clock.systemUTC(), 3)) {
            for (long clone = 10; clone < 30; clone++) {
                engine.createChild(clone, 1);
                jobs.startFlatten(clone);
                assertThat(awaitEnd(jobs, clone).state()).isEqualTo(Job.State.SUCCEEDED);
            }

            // the last flatten moves to the finished ones just after its job reads as ended
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (jobs.finishedFlattensKept() > 3 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(jobs.finishedFlattensKept()).isLessThanOrEqualTo(3);
            assertThat(jobs.flatten(29))
                    .hasValueSatisfying(job -> assertThat(job.state()).isEqualTo(Job.State.SUCCEEDED));
        }
    }

    private static Job awaitEnd(NodeJobs jobs, long lcId) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            Job job = jobs.flatten(lcId).orElseThrow();
            if (job.state() != Job.State.RUNNING) {
                return job;
            }
            Thread.sleep(5);
        }
        throw new AssertionError("flatten of lc " + lcId + " still running after 60 s");
    }
}
