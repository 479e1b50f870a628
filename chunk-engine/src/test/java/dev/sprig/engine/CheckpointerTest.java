package dev.sprig.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The checkpoint thread survives whatever a checkpoint throws, and flushes never wait for a dead one. */
class CheckpointerTest {

    private static final long BOUND = 4096;

    @TempDir
    Path dir;

    @Test
    void aCheckpointThatThrowsAnErrorIsRetriedAndDoesNotLeaveFlushesWaiting() throws Exception {
        AtomicInteger attempts = new AtomicInteger();
        OutOfMemoryError error = new OutOfMemoryError("no room for the snapshot");
        try (Journal journal = overdueJournal();
                Checkpointer checkpointer = new Checkpointer(
                        EngineConfig.defaults().withCheckpoints(BOUND, Duration.ofDays(1)), () -> journal, () -> {
                            attempts.incrementAndGet();
                            throw error;
                        })) {
            checkpointer.start();

            assertTimeoutPreemptively(Duration.ofSeconds(60), checkpointer::awaitIfOverdue);

            assertThat(checkpointer.lastFailure()).isSameAs(error);
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (attempts.get() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(attempts.get())
                    .as("checkpoints attempted: the thread retries")
                    .isGreaterThanOrEqualTo(2);
            assertTimeoutPreemptively(Duration.ofSeconds(60), checkpointer::awaitIfOverdue);
        }
    }

    @Test
    void aFlushDoesNotWaitForACheckpointerThatIsNotRunning() throws Exception {
        try (Journal journal = overdueJournal();
                Checkpointer never = new Checkpointer(
                        EngineConfig.defaults().withCheckpoints(BOUND, Duration.ofDays(1)), () -> journal, () -> {})) {
            // never started (or ended): no checkpoint will come, so waiting for one would be forever
            assertTimeoutPreemptively(Duration.ofSeconds(60), never::awaitIfOverdue);
        }
    }

    /** A journal at more than twice {@link #BOUND}. */
    private Journal overdueJournal() throws IOException {
        Journal journal = Journal.create(dir.resolve("journal-1.log"));
        while (journal.sizeBytes() < 2 * BOUND) {
            journal.append(new JournalRecord.Materialize(1, 0, 0, new int[Layout.BLOCKS_PER_SEGMENT]));
        }
        return journal;
    }
}
