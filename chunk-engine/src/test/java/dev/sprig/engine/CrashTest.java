package dev.sprig.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a worker JVM with SIGKILL at random moments while it writes and flushes, then reopens the
 * engine and checks DESIGN invariants 2, 3 and 5 for every segment against a replay of the
 * worker's deterministic script:
 *
 * <ul>
 *   <li>(a) the segment holds at least everything up to the last reported flush;
 *   <li>(b) a redirected (or re-materialized) segment is exactly one state of the script, never a
 *       mix of the segment before and after the redirect;
 *   <li>(c) nothing reads as corrupt and scrub is clean, including segments rewritten in place
 *       after their last flush.
 * </ul>
 *
 * An in-place rewrite that was in flight may be torn at 4 KiB block granularity between the state
 * before and after it, as on any block device; nothing else is accepted.
 */
class CrashTest {

    private static final int CYCLES = 24;
    private static final int SEG = CrashScript.SEG;
    private static final int SEGMENTS = (int) (CrashScript.SIZE / SEG);
    private static final byte UNOWNED = 0;
    private static final byte DATA = 1;
    private static final byte ZERO = 2;

    @TempDir
    Path dir;

    @Test
    void killDashNineLosesNoFlushedWriteTearsNoRedirectAndReportsNoFalseCorruption() throws Exception {
        killCycles(CYCLES);
    }

    /** The same with a journal bound of 16 KiB: kills land before, during and after checkpoints. */
    @Test
    void killDashNineDuringBackgroundCheckpointsLosesNothingEither() throws Exception {
        killCycles(CYCLES / 2, Long.toString(16 << 10));
    }

    private void killCycles(int cycles, String... workerOptions) throws Exception {
        byte[] base = CrashScript.baseImage();
        try (ChunkEngine engine = ChunkEngine.open(dir)) {
            engine.create(CrashScript.BASE_LC, CrashScript.SIZE);
            engine.write(CrashScript.BASE_LC, 0, base);
            engine.freeze(CrashScript.BASE_LC);
        }
        long testSeed = System.nanoTime();
        Random random = new Random(testSeed);
        int killedMidScript = 0;
        for (int cycle = 0; cycle < cycles; cycle++) {
            long seed = random.nextLong();
            try (ChunkEngine engine = ChunkEngine.open(dir)) {
                if (cycle > 0) {
                    engine.delete(CrashScript.cycleLc(cycle - 1));
                }
                engine.createChild(CrashScript.cycleLc(cycle), CrashScript.BASE_LC);
            }
            List<String> args = new ArrayList<>(List.of(dir.toString(), Integer.toString(cycle), Long.toString(seed)));
            args.addAll(List.of(workerOptions));
            KilledWorker outcome =
                    KilledWorker.run(CrashWorker.class, "FLUSHED", random.nextInt(400), args.toArray(String[]::new));
            if (!outcome.done()) {
                killedMidScript++;
            }
            try (ChunkEngine engine = ChunkEngine.open(dir)) {
                verify(engine, cycle, seed, outcome.lastReported(), base, "test seed " + testSeed);
            }
        }
        System.out.printf("crash test seed %d: %d of %d cycles killed mid-script%n", testSeed, killedMidScript, cycles);
        assertThat(killedMidScript).as("cycles killed before the script ended").isGreaterThanOrEqualTo(cycles / 2);
    }

    /** Replays the script on a plain byte array and accepts each segment only in a legal state. */
    private static void verify(ChunkEngine engine, int cycle, long seed, int lastFlushed, byte[] base, String why) {
        long lc = CrashScript.cycleLc(cycle);
        byte[] recovered = engine.read(lc, 0, (int) CrashScript.SIZE);
        assertThat(engine.scrub().damaged()).as("no false corruption, %s", why).isEmpty();

        byte[] model = base.clone();
        byte[] state = new byte[SEGMENTS];
        boolean[] legal = new boolean[SEGMENTS];
        if (lastFlushed < 0) {
            compareAll(model, recovered, legal);
        }
        for (int j = 0; j < CrashScript.OPS; j++) {
            CrashScript.Op op = CrashScript.op(seed, j);
            if (op.kind() == CrashScript.Kind.FLUSH) {
                if (j == lastFlushed) {
                    compareAll(model, recovered, legal);
                }
                continue;
            }
            byte[] data = op.kind() == CrashScript.Kind.WRITE ? op.data() : new byte[op.length()];
            int first = (int) (op.offset() / SEG);
            int last = (int) ((op.offset() + op.length() - 1) / SEG);
            for (int s = first; s <= last; s++) {
                byte[] before = Arrays.copyOfRange(model, s * SEG, (s + 1) * SEG);
                long from = Math.max(op.offset(), (long) s * SEG);
                long to = Math.min(op.offset() + op.length(), (long) (s + 1) * SEG);
                boolean whole = to - from == SEG;
                boolean inPlace;
                if (op.kind() != CrashScript.Kind.WRITE && (state[s] == ZERO)) {
                    continue;
                } else if (op.kind() != CrashScript.Kind.WRITE && whole) {
                    state[s] = ZERO;
                    inPlace = false;
                } else {
                    inPlace = state[s] == DATA;
                    state[s] = DATA;
                }
                System.arraycopy(data, (int) (from - op.offset()), model, (int) from, (int) (to - from));
                if (j > lastFlushed) {
                    byte[] after = Arrays.copyOfRange(model, s * SEG, (s + 1) * SEG);
                    byte[] got = Arrays.copyOfRange(recovered, s * SEG, (s + 1) * SEG);
                    legal[s] |= Arrays.equals(after, got) || (inPlace && tornBetween(before, after, got));
                }
            }
        }
        for (int s = 0; s < SEGMENTS; s++) {
            assertThat(legal[s])
                    .as(
                            "segment %d of cycle %d (last flushed op %d) holds a legal state, %s",
                            s, cycle, lastFlushed, why)
                    .isTrue();
        }
    }

    private static void compareAll(byte[] model, byte[] recovered, boolean[] legal) {
        for (int s = 0; s < SEGMENTS; s++) {
            legal[s] |= Arrays.equals(model, s * SEG, (s + 1) * SEG, recovered, s * SEG, (s + 1) * SEG);
        }
    }

    /** Every 4 KiB block of {@code got} is the block before or after the write. */
    private static boolean tornBetween(byte[] before, byte[] after, byte[] got) {
        for (int b = 0; b < SEG; b += Layout.BLOCK_SIZE) {
            int e = b + Layout.BLOCK_SIZE;
            if (!Arrays.equals(got, b, e, before, b, e) && !Arrays.equals(got, b, e, after, b, e)) {
                return false;
            }
        }
        return true;
    }
}
