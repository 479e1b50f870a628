package dev.sprig.engine;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Grows one journal large, with checkpoints out of the way: cycle c stamps the first 4 KiB block of
 * each of {@link #SEGMENTS} segments with c, flushes and reports {@code FLUSHED <c>}. It prints
 * {@code READY} once the journal holds {@code args[1]} bytes and goes on until it is killed.
 *
 * <p>{@code check <dir>} instead opens the engine (in a JVM whose heap is smaller than the journal,
 * so the journal must stream) and prints {@code STAMPS <lowest> <highest>} of the blocks, then the
 * size of the journal it started.
 */
public final class LargeJournalWorker {

    static final int SEGMENTS = 1_000;

    private LargeJournalWorker() {}

    public static void main(String[] args) throws Exception {
        if (args[0].equals("check")) {
            check(Path.of(args[1]));
            return;
        }
        Path dir = Path.of(args[0]);
        long journalBytes = Long.parseLong(args[1]);
        ChunkEngine engine =
                ChunkEngine.open(dir, EngineConfig.defaults().withCheckpoints(1L << 40, Duration.ofDays(1)));
        engine.create(1, (long) SEGMENTS * Layout.SEGMENT_SIZE);
        ByteBuffer block = ByteBuffer.allocate(4096);
        boolean ready = false;
        for (int cycle = 0; ; cycle++) {
            for (int s = 0; s < SEGMENTS; s++) {
                block.clear();
                block.putInt(0, cycle);
                engine.write(1, (long) s * Layout.SEGMENT_SIZE, block);
            }
            engine.flush(1);
            System.out.println("FLUSHED " + cycle);
            if (!ready && engine.stats().journalBytes() >= journalBytes) {
                ready = true;
                System.out.println("READY");
            }
            System.out.flush();
        }
    }

    private static void check(Path dir) {
        try (ChunkEngine engine = ChunkEngine.open(dir)) {
            int lowest = Integer.MAX_VALUE;
            int highest = Integer.MIN_VALUE;
            for (int s = 0; s < SEGMENTS; s++) {
                int stamp = ByteBuffer.wrap(engine.read(1, (long) s * Layout.SEGMENT_SIZE, 4))
                        .getInt();
                lowest = Math.min(lowest, stamp);
                highest = Math.max(highest, stamp);
            }
            System.out.println("STAMPS " + lowest + " " + highest);
            System.out.println("JOURNAL " + engine.stats().journalBytes());
            System.out.println("CLEAN " + engine.scrub().clean());
        }
    }
}
