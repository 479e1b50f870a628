package dev.sprig.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A scrub shares the engine with I/O and lineage changes. The engine's lock lets a waiting lineage
 * change go before new readers, so a scrub that held the shared lock for its whole run would stall
 * every read behind the first create or delete that came along.
 */
class ScrubConcurrencyTest {

    private static final int MIB = 1 << 20;
    /** Stored data to scrub: enough that a scrub takes far longer than checking one PC. */
    private static final int SCRUBBED_MIB = 1024;

    private Path dir;
    private ChunkEngine engine;

    @BeforeEach
    void open() throws IOException {
        // tmpfs where there is one, so that the fsync of each lineage change costs nothing and the
        // test is about locking, not about a busy disk
        Path shm = Path.of("/dev/shm");
        dir = Files.isDirectory(shm) && Files.isWritable(shm)
                ? Files.createTempDirectory(shm, "sprig-scrub")
                : Files.createTempDirectory("sprig-scrub");
        engine = ChunkEngine.open(dir);
    }

    @AfterEach
    void close() throws IOException {
        engine.close();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(f);
            }
        }
    }

    @Test
    void readsStayFastWhileAScrubRacesCreatesAndDeletes() throws Exception {
        engine.create(1, (long) SCRUBBED_MIB * MIB);
        byte[] chunk = new byte[4 * MIB];
        Random random = new Random(1);
        for (long at = 0; at < (long) SCRUBBED_MIB * MIB; at += chunk.length) {
            random.nextBytes(chunk);
            engine.write(1, at, chunk);
        }
        engine.create(2, MIB);
        engine.write(2, 0, new byte[4096]);
        engine.flushAll();

        AtomicBoolean scrubbing = new AtomicBoolean(true);
        AtomicLong lineageChanges = new AtomicLong();
        AtomicLong slowestReadNanos = new AtomicLong();
        CompletableFuture<Void> churn = CompletableFuture.runAsync(() -> {
            byte[] segment = new byte[ChunkEngine.SEGMENT_SIZE];
            for (long id = 1000; scrubbing.get(); id++) {
                engine.create(id, ChunkEngine.PC_SIZE);
                engine.write(id, 0, segment);
                engine.delete(id);
                lineageChanges.addAndGet(2);
            }
        });
        CompletableFuture<Void> reads = CompletableFuture.runAsync(() -> {
            while (scrubbing.get()) {
                long start = System.nanoTime();
                engine.read(2, 0, 4096);
                slowestReadNanos.accumulateAndGet(System.nanoTime() - start, Math::max);
            }
        });

        long start = System.nanoTime();
        ScrubReport report = engine.scrub();
        long scrubNanos = System.nanoTime() - start;
        scrubbing.set(false);
        churn.get();
        reads.get();

        assertThat(report.damaged()).isEmpty();
        assertThat(report.segmentsChecked())
                .isGreaterThanOrEqualTo((long) SCRUBBED_MIB * MIB / ChunkEngine.SEGMENT_SIZE);
        // generous (measured: 20 ms of a 384 ms scrub): a scrub holding the lock for its run stalls reads ~all of it
        assertThat(slowestReadNanos.get())
                .as("slowest read (ns) during a scrub of %d ms", scrubNanos / 1_000_000)
                .isLessThan(scrubNanos / 2);
        assertThat(lineageChanges.get()).as("lineage changes during the scrub").isGreaterThan(2);
    }

    @Test
    void anLcDeletedDuringAScrubIsSkippedAndLeavesNoFileBehind() throws Exception {
        byte[] segment = new byte[ChunkEngine.SEGMENT_SIZE];
        new Random(2).nextBytes(segment);
        for (long id = 1; id <= 64; id++) {
            engine.create(id, 4 * ChunkEngine.PC_SIZE);
            for (long pc = 0; pc < 4; pc++) {
                engine.write(id, pc * ChunkEngine.PC_SIZE, segment);
            }
        }
        engine.flushAll();

        CompletableFuture<ScrubReport> scrub = CompletableFuture.supplyAsync(engine::scrub);
        for (long id = 64; id >= 1; id--) {
            engine.delete(id);
        }
        ScrubReport report = scrub.get();

        assertThat(report.damaged()).isEmpty();
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(f -> f.getFileName().toString())).noneMatch(n -> n.startsWith("lc-"));
        }
    }
}
