package dev.sprig.engine;

import static dev.sprig.engine.EnginePropertyTest.assertSameBytes;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a worker JVM that adopts image files back to back with SIGKILL at random moments, then
 * reopens the engine: every lc whose adopt returned reads as its image; the lc being adopted at the
 * kill reads, segment by segment, as its image or as zeros, and can be deleted; no staging file is
 * left.
 */
class AdoptCrashTest {

    private static final int CYCLES = 8;
    private static final int SEG = Layout.SEGMENT_SIZE;

    @TempDir
    Path root;

    @Test
    void killDashNineDuringAdoptsLosesNothingReturnedAndNeverATornSegment() throws Exception {
        long testSeed = System.nanoTime();
        Random random = new Random(testSeed);
        int adopted = 0;
        for (int cycle = 0; cycle < CYCLES; cycle++) {
            Path dir = Files.createDirectory(root.resolve("cycle-" + cycle));
            long seed = random.nextLong();
            KilledWorker outcome = KilledWorker.run(
                    AdoptCrashWorker.class, "ADOPTED", random.nextInt(400), dir.toString(), Long.toString(seed));
            String why = "cycle " + cycle + ", test seed " + testSeed;
            assertThat(outcome.done())
                    .as("killed before the last image, %s", why)
                    .isFalse();
            try (ChunkEngine engine = ChunkEngine.open(dir)) {
                for (int k = 0; k <= outcome.lastReported(); k++) {
                    byte[] image = AdoptCrashWorker.image(seed, k);
                    assertSameBytes(engine.read(AdoptCrashWorker.lc(k), 0, image.length), image, why + ", image " + k);
                }
                int cut = outcome.lastReported() + 1;
                long cutLc = AdoptCrashWorker.lc(cut);
                if (engine.list().stream().anyMatch(lc -> lc.lcId() == cutLc)) {
                    byte[] image = AdoptCrashWorker.image(seed, cut);
                    byte[] read = engine.read(cutLc, 0, image.length);
                    for (int s = 0; s < image.length / SEG; s++) {
                        byte[] got = Arrays.copyOfRange(read, s * SEG, (s + 1) * SEG);
                        byte[] want = Arrays.copyOfRange(image, s * SEG, (s + 1) * SEG);
                        assertThat(Arrays.equals(got, want) || Arrays.equals(got, new byte[SEG]))
                                .as("segment %d of the image cut off reads as its image or as zeros, %s", s, why)
                                .isTrue();
                    }
                    engine.delete(cutLc);
                }
                assertThat(engine.scrub().clean()).as(why).isTrue();
                try (var files = Files.list(dir)) {
                    assertThat(files.map(Path::toString)).noneMatch(name -> name.endsWith(".staging"));
                }
                adopted += outcome.lastReported() + 1;
            }
        }
        System.out.printf("adopt crash test seed %d: %d adopts returned over %d cycles%n", testSeed, adopted, CYCLES);
    }
}
