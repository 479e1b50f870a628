package dev.sprig.engine;

import static dev.sprig.engine.EnginePropertyTest.assertSameBytes;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a worker JVM that runs {@code createAll} batches back to back with SIGKILL at random
 * moments, then reopens the engine and requires exactly the lcs of the first m batches, for some m
 * covering every batch the worker saw return: each batch is there entirely or not at all, and none
 * is there unless every earlier one is.
 */
class CreateAllCrashTest {

    private static final int CYCLES = 12;

    @TempDir
    Path root;

    @Test
    void killDashNineDuringBulkClonesLeavesEachBatchAllOrNothing() throws Exception {
        byte[] base = new byte[(int) CreateAllCrashWorker.SIZE];
        new Random(4242).nextBytes(base);
        long testSeed = System.nanoTime();
        Random random = new Random(testSeed);
        int partlyReported = 0;
        int totalBatches = 0;
        for (int cycle = 0; cycle < CYCLES; cycle++) {
            Path dir = Files.createDirectory(root.resolve("cycle-" + cycle));
            try (ChunkEngine engine = ChunkEngine.open(dir)) {
                engine.create(CreateAllCrashWorker.BASE_LC, CreateAllCrashWorker.SIZE);
                engine.write(CreateAllCrashWorker.BASE_LC, 0, base);
                engine.freeze(CreateAllCrashWorker.BASE_LC);
            }
            long seed = random.nextLong();
            KilledWorker outcome = KilledWorker.run(
                    CreateAllCrashWorker.class, "COMMITTED", random.nextInt(300), dir.toString(), Long.toString(seed));
            String why = "cycle " + cycle + ", test seed " + testSeed;
            assertThat(outcome.done())
                    .as("killed before the last batch, %s", why)
                    .isFalse();
            try (ChunkEngine engine = ChunkEngine.open(dir)) {
                int present = batchesPresent(engine);
                assertThat(present)
                        .as("every batch whose createAll returned is durable, %s", why)
                        .isGreaterThan(outcome.lastReported());
                assertThat(engine.list())
                        .as("exactly the first %d batches, each whole, %s", present, why)
                        .isEqualTo(expectedAfter(seed, present));
                if (present > 0) {
                    List<NewLc> last = CreateAllCrashWorker.batch(seed, present - 1);
                    long clone = last.get(last.size() - 1).lcId();
                    assertSameBytes(engine.read(clone, 0, base.length), orZeros(engine, clone, base), why);
                }
                if (present > outcome.lastReported() + 1) {
                    partlyReported++;
                }
                totalBatches += present;
            }
        }
        System.out.printf(
                "create-all crash test seed %d: %d batches survived over %d cycles, %d cycles kept a batch"
                        + " whose return was not yet reported%n",
                testSeed, totalBatches, CYCLES, partlyReported);
    }

    /** Batches are created in order, so the first absent batch ends the prefix. */
    private static int batchesPresent(ChunkEngine engine) {
        int k = 0;
        while (hasLc(engine, CreateAllCrashWorker.firstLc(k))) {
            k++;
        }
        return k;
    }

    private static boolean hasLc(ChunkEngine engine, long lcId) {
        try {
            engine.info(lcId);
            return true;
        } catch (UnknownLcException e) {
            return false;
        }
    }

    /** The base image and every lc of batches 0 .. count-1, with the children they give each other. */
    private static List<LcInfo> expectedAfter(long seed, int count) {
        List<NewLc> all = new ArrayList<>();
        all.add(new NewLc(CreateAllCrashWorker.BASE_LC, null, CreateAllCrashWorker.SIZE, true));
        for (int k = 0; k < count; k++) {
            all.addAll(CreateAllCrashWorker.batch(seed, k));
        }
        Map<Long, Integer> children = new HashMap<>();
        for (NewLc n : all) {
            if (n.parentLcId() != null) {
                children.merge(n.parentLcId(), 1, Integer::sum);
            }
        }
        List<LcInfo> expected = new ArrayList<>();
        for (NewLc n : all) {
            Long parent = n.parentLcId();
            expected.add(new LcInfo(
                    n.lcId(),
                    parent != null ? OptionalLong.of(parent) : OptionalLong.empty(),
                    n.sizeBytes(),
                    n.frozen(),
                    children.getOrDefault(n.lcId(), 0)));
        }
        expected.sort(Comparator.comparingLong(LcInfo::lcId));
        return expected;
    }

    /** What a clone reads in its first PC: the base image if it descends from it, else zeros. */
    private static byte[] orZeros(ChunkEngine engine, long lcId, byte[] base) {
        OptionalLong up = OptionalLong.of(lcId);
        while (up.isPresent()) {
            if (up.getAsLong() == CreateAllCrashWorker.BASE_LC) {
                return base;
            }
            up = engine.info(up.getAsLong()).parentLcId();
        }
        return new byte[base.length];
    }
}
