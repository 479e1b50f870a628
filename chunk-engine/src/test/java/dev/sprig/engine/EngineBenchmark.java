package dev.sprig.engine;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * The engine benchmark behind {@code bench/engine}; not a test. Builds a base image, clones of it
 * through chains of depth 1, 16 and 64, and a plain file with the same bytes, then measures the
 * same access patterns on each in one run. {@code heap} mode (run in a JVM with -Xmx64m) measures
 * the metadata heap of 2,500 clones of a large image.
 */
public final class EngineBenchmark {

    private static final int MIB = 1 << 20;
    private static final int KIB4 = 4096;

    private EngineBenchmark() {}

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        Path dir = Path.of(args[1]);
        boolean quick = args.length > 2 && args[2].equals("--quick");
        if (mode.equals("heap")) {
            heap(dir, quick);
        } else if (mode.equals("checkpoint")) {
            checkpointPause(dir, quick);
        } else {
            io(dir, quick);
        }
    }

    interface Io {
        void read(long offset, ByteBuffer buf) throws IOException;

        void write(long offset, ByteBuffer buf) throws IOException;
    }

    record Target(String name, Io io) {}

    private static Io engineIo(ChunkEngine engine, long lc) {
        return new Io() {
            public void read(long offset, ByteBuffer buf) {
                engine.read(lc, offset, buf);
            }

            public void write(long offset, ByteBuffer buf) {
                engine.write(lc, offset, buf);
            }
        };
    }

    private static Io fileIo(FileChannel ch) {
        return new Io() {
            public void read(long offset, ByteBuffer buf) throws IOException {
                long pos = offset;
                while (buf.hasRemaining()) {
                    pos += ch.read(buf, pos);
                }
            }

            public void write(long offset, ByteBuffer buf) throws IOException {
                long pos = offset;
                while (buf.hasRemaining()) {
                    pos += ch.write(buf, pos);
                }
            }
        };
    }

    private static void io(Path dir, boolean quick) throws Exception {
        long size = quick ? 256L * MIB : 1024L * MIB;
        int randomOps = quick ? 100_000 : 400_000;
        int firstWrites = quick ? 400 : 1500;
        int rounds = quick ? 3 : 5;
        System.out.printf(
                Locale.ROOT,
                "engine benchmark: image %d MiB, %d random 4 KiB ops per run, best of %d rounds%n",
                size / MIB,
                randomOps,
                rounds);

        ByteBuffer chunk = ByteBuffer.allocateDirect(MIB);
        Random fill = new Random(7);
        byte[] bytes = new byte[MIB];
        try (ChunkEngine engine = ChunkEngine.open(dir.resolve("engine"));
                FileChannel plain = FileChannel.open(
                        dir.resolve("plain.img"),
                        StandardOpenOption.CREATE,
                        StandardOpenOption.READ,
                        StandardOpenOption.WRITE)) {
            long t0 = System.nanoTime();
            engine.create(0, size);
            for (long off = 0; off < size; off += MIB) {
                fill.nextBytes(bytes);
                chunk.clear().put(bytes).flip();
                engine.write(0, off, chunk);
                // the plain file is populated with the same 256 KiB writes the engine issues: the write
                // size decides the page-cache folio size, which changes later 4 KiB rewrite speed by 2x
                for (int piece = 0; piece < MIB; piece += Layout.SEGMENT_SIZE) {
                    fileIo(plain).write(off + piece, chunk.clear().slice(piece, Layout.SEGMENT_SIZE));
                }
            }
            engine.flushAll();
            plain.force(false);
            double importSeconds = (System.nanoTime() - t0) / 1e9;
            // chain: lc 0 (image) <- 1 <- 2 ... <- 63, each level redirecting a few segments; clones hang off
            // levels 0, 15 and 63, so they read through 1, 16 and 64 ancestors.
            Random r = new Random(11);
            ByteBuffer small = ByteBuffer.allocateDirect(KIB4);
            engine.freeze(0);
            for (int level = 1; level < 64; level++) {
                engine.createChild(level, level - 1);
                for (int i = 0; i < 4; i++) {
                    small.clear();
                    engine.write(level, (long) r.nextInt((int) (size / KIB4)) * KIB4, small);
                }
                engine.freeze(level);
            }
            long[] parents = {0, 15, 63};
            long[] clones = {1001, 1016, 1064};
            for (int i = 0; i < 3; i++) {
                engine.createChild(clones[i], parents[i]);
            }
            Target[] readers = {
                new Target("FileChannel", fileIo(plain)),
                new Target("clone depth 1", engineIo(engine, 1001)),
                new Target("clone depth 16", engineIo(engine, 1016)),
                new Target("clone depth 64", engineIo(engine, 1064)),
            };

            double[] seq = new double[4];
            double[] rand = new double[4];
            // targets take turns, starting with a different one each round, so that a noisy moment on this
            // shared machine does not always hit the same target; the best round of each is reported
            for (int round = 0; round < rounds; round++) {
                for (int k = 0; k < readers.length; k++) {
                    int i = (round + k) % readers.length;
                    seq[i] = Math.max(seq[i], sequentialRead(readers[i].io(), size));
                    rand[i] = Math.max(rand[i], randomRead(readers[i].io(), size, randomOps, 100 + round));
                }
            }

            double[] firstWrite = new double[4];
            for (int phase = 0; phase < 2; phase++) {
                for (int i = 1; i < 4; i++) {
                    engine.flushAll();
                    firstWrite[i] =
                            Math.max(firstWrite[i], firstWrite(readers[i].io(), size, firstWrites, phase, 300 + i));
                }
            }
            long tFlatten = System.nanoTime();
            engine.flatten(1001, FlattenProgress.none());
            engine.flushAll();
            double flattenSeconds = (System.nanoTime() - tFlatten) / 1e9;
            double plainWrite = 0;
            double rewrite = 0;
            for (int round = 0; round < 2 * rounds; round++) {
                // both start from clean page cache (no writeback in flight), in alternating order
                engine.flushAll();
                plain.force(false);
                if ((round & 1) == (round / 2 & 1)) {
                    plainWrite = Math.max(plainWrite, randomWrite(fileIo(plain), size, randomOps, 200 + round));
                } else {
                    rewrite = Math.max(rewrite, randomWrite(readers[1].io(), size, randomOps, 400 + round));
                }
            }
            long tFlush = System.nanoTime();
            engine.flushAll();
            double rewriteFlushMs = (System.nanoTime() - tFlush) / 1e6;

            // last, because re-reading dropped files changes the page-cache folio sizes that the write
            // measurements above depend on
            double[] cold = new double[4];
            int[] coldOrder = {0, 1, 3, 3, 1, 0};
            for (int i : coldOrder) {
                plain.force(false);
                dropPageCache(dir);
                cold[i] = Math.max(cold[i], sequentialRead(readers[i].io(), size));
            }

            System.out.println();
            System.out.printf(
                    Locale.ROOT,
                    "%-16s | %14s | %16s | %20s | %20s%n",
                    "target",
                    "1 MiB seq read",
                    "4 KiB rand read",
                    "4 KiB rand rewrite",
                    "4 KiB first write");
            System.out.println("-".repeat(16) + "-+-" + "-".repeat(14) + "-+-" + "-".repeat(16) + "-+-" + "-".repeat(20)
                    + "-+-" + "-".repeat(20));
            for (int i = 0; i < 4; i++) {
                String rw = i == 0 ? iops(plainWrite) : i == 1 ? iops(rewrite) : "-";
                String fw = i == 0 ? iops(plainWrite) + " (plain)" : iops(firstWrite[i]);
                System.out.printf(
                        Locale.ROOT,
                        "%-16s | %9.0f MB/s | %16s | %20s | %20s%n",
                        readers[i].name(),
                        seq[i],
                        iops(rand[i]),
                        rw,
                        fw);
            }
            System.out.printf(
                    Locale.ROOT,
                    "cold page cache (dropped with posix_fadvise DONTNEED), 1 MiB sequential read:"
                            + " FileChannel %.0f MB/s, clone depth 1 %.0f MB/s, clone depth 64 %.0f MB/s%n",
                    cold[0],
                    cold[1],
                    cold[3]);
            System.out.println();
            System.out.printf(
                    Locale.ROOT,
                    "first write = redirect: reads the 256 KiB parent segment, writes 256 KiB"
                            + " (%.1f MB/s of client data, %.0f MB/s moved)%n",
                    firstWrite[1] * KIB4 / 1e6,
                    firstWrite[1] * Layout.SEGMENT_SIZE / 1e6);
            System.out.printf(
                    Locale.ROOT,
                    "image import %.2f s (%.0f MB/s, engine and plain file together);"
                            + " flatten of the depth-1 clone %.2f s; flush after rewrites %.1f ms%n",
                    importSeconds,
                    2 * size / 1e6 / importSeconds,
                    flattenSeconds,
                    rewriteFlushMs);
            double readVsPlain = Math.min(seq[1] / seq[0], rand[1] / rand[0]);
            double depth = Math.min(seq[3] / seq[1], rand[3] / rand[1]);
            System.out.printf(
                    Locale.ROOT,
                    "ratios: seq read clone/plain %.2f, rand read clone/plain %.2f,"
                            + " depth64/depth1 seq %.2f rand %.2f%n",
                    seq[1] / seq[0],
                    rand[1] / rand[0],
                    seq[3] / seq[1],
                    rand[3] / rand[1]);
            System.out.printf(
                    Locale.ROOT,
                    "result read_vs_filechannel=%.2f depth64_vs_depth1=%.2f"
                            + " rewrite_vs_filechannel=%.2f firstwrite_vs_filechannel=%.3f%n",
                    readVsPlain,
                    depth,
                    rewrite / plainWrite,
                    firstWrite[1] / plainWrite);
        }
    }

    /** Drops the (clean) cached pages of every file under dir, using GNU dd's posix_fadvise. */
    private static void dropPageCache(Path dir) throws IOException, InterruptedException {
        try (var files = java.nio.file.Files.walk(dir)) {
            for (Path f : files.filter(java.nio.file.Files::isRegularFile).toList()) {
                new ProcessBuilder("dd", "if=" + f, "iflag=nocache", "count=0", "status=none")
                        .inheritIO()
                        .start()
                        .waitFor();
            }
        }
    }

    private static String iops(double v) {
        return String.format(Locale.ROOT, "%,.0f IOPS", v);
    }

    private static double sequentialRead(Io io, long size) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(MIB);
        long t = System.nanoTime();
        for (long off = 0; off < size; off += MIB) {
            buf.clear();
            io.read(off, buf);
        }
        return size / 1e6 / ((System.nanoTime() - t) / 1e9);
    }

    private static double randomRead(Io io, long size, int ops, long seed) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(KIB4);
        SplittableRandom r = new SplittableRandom(seed);
        int blocks = (int) (size / KIB4);
        long t = System.nanoTime();
        for (int i = 0; i < ops; i++) {
            buf.clear();
            io.read((long) r.nextInt(blocks) * KIB4, buf);
        }
        return ops / ((System.nanoTime() - t) / 1e9);
    }

    private static double randomWrite(Io io, long size, int ops, long seed) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(KIB4);
        SplittableRandom r = new SplittableRandom(seed);
        int blocks = (int) (size / KIB4);
        long t = System.nanoTime();
        for (int i = 0; i < ops; i++) {
            buf.clear();
            buf.putLong(0, i);
            io.write((long) r.nextInt(blocks) * KIB4, buf);
        }
        return ops / ((System.nanoTime() - t) / 1e9);
    }

    /** 4 KiB writes, each into a different segment the clone does not own yet (phase < stride). */
    private static double firstWrite(Io io, long size, int ops, int phase, long seed) throws IOException {
        ByteBuffer buf = ByteBuffer.allocateDirect(KIB4);
        int segments = (int) (size / Layout.SEGMENT_SIZE);
        int stride = segments / ops;
        SplittableRandom r = new SplittableRandom(seed);
        long t = System.nanoTime();
        for (int i = 0; i < ops; i++) {
            buf.clear();
            long segment = (long) i * stride + phase;
            io.write(segment * Layout.SEGMENT_SIZE + (long) r.nextInt(Layout.BLOCKS_PER_SEGMENT) * KIB4, buf);
        }
        return ops / ((System.nanoTime() - t) / 1e9);
    }

    /**
     * 2,500 clones of a fully written image, each with one redirected segment, with the image's
     * owner cache populated; prints the used heap after GC. Run with -Xmx64m to show it fits.
     */
    private static void heap(Path dir, boolean quick) throws Exception {
        long size = quick ? 1024L * MIB : 10_240L * MIB;
        int clones = 2_500;
        ByteBuffer chunk = ByteBuffer.allocateDirect(4 * MIB);
        Random fill = new Random(3);
        byte[] bytes = new byte[4 * MIB];
        fill.nextBytes(bytes);
        try (ChunkEngine engine = ChunkEngine.open(dir.resolve("heap"))) {
            engine.create(0, size);
            for (long off = 0; off < size; off += 4 * MIB) {
                chunk.clear().put(bytes).flip();
                chunk.putLong(0, off);
                engine.write(0, off, chunk);
            }
            engine.freeze(0);
            SplittableRandom r = new SplittableRandom(5);
            ByteBuffer small = ByteBuffer.allocateDirect(KIB4);
            List<NewLc> bulk = new ArrayList<>();
            for (int c = 1; c <= clones; c++) {
                bulk.add(NewLc.child(c, 0, size));
            }
            long t0 = System.nanoTime();
            engine.createAll(bulk);
            double createAllMs = (System.nanoTime() - t0) / 1e6;
            for (int c = 1; c <= clones; c++) {
                small.clear();
                engine.write(c, (long) r.nextInt((int) (size / KIB4)) * KIB4, small);
            }
            for (long off = 0; off < size; off += Layout.PC_SIZE) {
                small.clear();
                engine.read(1, off, small);
            }
            for (int c = 1; c <= clones; c++) {
                small.clear();
                engine.read(c, (long) r.nextInt((int) (size / KIB4)) * KIB4, small);
            }
            engine.flushAll();
            EngineStats stats = engine.stats();
            for (int i = 0; i < 3; i++) {
                System.gc();
                Thread.sleep(100);
            }
            long used = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            System.out.printf(
                    Locale.ROOT,
                    "heap: image %d GiB fully written, %d clones with one redirected segment"
                            + " each (%d lcs, %d segments, %d PCs), max heap %d MiB%n",
                    size / 1024 / MIB,
                    clones,
                    stats.lcs(),
                    stats.segmentsOwned(),
                    stats.pcsAllocated(),
                    Runtime.getRuntime().maxMemory() / MIB);
            System.out.printf(
                    Locale.ROOT,
                    "bulk clone: createAll of %d clones in %.1f ms (one journal fsync)%n",
                    clones,
                    createAllMs);
            System.out.printf(
                    Locale.ROOT,
                    "result heap_mib_2500_clones=%.1f create_all_2500_ms=%.1f%n",
                    used / (double) MIB,
                    createAllMs);
        }
    }

    /**
     * The longest 4 KiB read a checkpoint delays, with 100,000 lcs (10,000 with {@code --quick}): a
     * reader thread reads a clone continuously and a writer writes and flushes another, first with
     * no checkpoint, then while checkpoints run back to back; the longest read of each phase is
     * reported. A checkpoint's whole duration is what the engine used to hold its exclusive lock for.
     */
    private static void checkpointPause(Path dir, boolean quick) throws Exception {
        long size = quick ? 256L * MIB : 1024L * MIB;
        int lcs = quick ? 10_000 : 100_000;
        int checkpoints = quick ? 5 : 10;
        long phaseNanos = (quick ? 2_000L : 5_000L) * 1_000_000L;
        EngineConfig manual = EngineConfig.defaults().withCheckpoints(1L << 40, java.time.Duration.ofDays(1));
        try (ChunkEngine engine = ChunkEngine.open(dir.resolve("checkpoint"), manual)) {
            engine.create(0, size);
            ByteBuffer chunk = ByteBuffer.allocateDirect(MIB);
            byte[] bytes = new byte[MIB];
            Random fill = new Random(9);
            for (long off = 0; off < size; off += MIB) {
                fill.nextBytes(bytes);
                engine.write(0, off, chunk.clear().put(bytes).flip());
            }
            engine.freeze(0);
            List<NewLc> batch = new ArrayList<>();
            for (int c = 1; c <= lcs; c++) {
                batch.add(NewLc.child(c, 0, size));
                if (batch.size() == 10_000) {
                    engine.createAll(batch);
                    batch.clear();
                }
            }
            engine.createAll(batch);
            ByteBuffer small = ByteBuffer.allocateDirect(KIB4);
            SplittableRandom r = new SplittableRandom(13);
            // one clone in 100 holds a redirected segment, so writable lcs carry metadata too
            for (int c = 100; c <= lcs; c += 100) {
                engine.write(c, (long) r.nextInt((int) (size / KIB4)) * KIB4, small.clear());
            }
            engine.flushAll();
            engine.checkpoint();
            long checkpointFile =
                    java.nio.file.Files.size(dir.resolve("checkpoint").resolve(Checkpoint.FILE));

            java.util.concurrent.atomic.AtomicLong longestRead = new java.util.concurrent.atomic.AtomicLong();
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            Thread reader = new Thread(() -> {
                ByteBuffer buf = ByteBuffer.allocateDirect(KIB4);
                SplittableRandom rr = new SplittableRandom(17);
                int blocks = (int) (size / KIB4);
                while (!stop.get()) {
                    long t = System.nanoTime();
                    engine.read(1, (long) rr.nextInt(blocks) * KIB4, buf.clear());
                    longestRead.accumulateAndGet(System.nanoTime() - t, Math::max);
                }
            });
            Thread writer = new Thread(() -> {
                ByteBuffer buf = ByteBuffer.allocateDirect(KIB4);
                SplittableRandom rw = new SplittableRandom(19);
                int blocks = (int) (size / KIB4);
                while (!stop.get()) {
                    engine.write(2, (long) rw.nextInt(blocks) * KIB4, buf.clear());
                    engine.flush(2);
                    java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
                }
            });
            reader.start();
            writer.start();
            Thread.sleep(500);
            longestRead.set(0);
            Thread.sleep(phaseNanos / 1_000_000);
            double quietMs = longestRead.getAndSet(0) / 1e6;
            double totalMs = 0;
            double longestCheckpointMs = 0;
            for (int i = 0; i < checkpoints; i++) {
                long t = System.nanoTime();
                engine.checkpoint();
                double ms = (System.nanoTime() - t) / 1e6;
                totalMs += ms;
                longestCheckpointMs = Math.max(longestCheckpointMs, ms);
            }
            double pauseMs = longestRead.get() / 1e6;
            stop.set(true);
            reader.join();
            writer.join();
            System.out.printf(
                    Locale.ROOT,
                    "checkpoint: %,d lcs (a %d MiB image, %,d clones, one in 100 with a redirected segment),"
                            + " checkpoint file %.1f MiB%n",
                    lcs + 1,
                    size / MIB,
                    lcs,
                    checkpointFile / (double) MIB);
            System.out.printf(
                    Locale.ROOT,
                    "4 KiB reads of a clone beside writes+flushes of another: longest read %.2f ms with no"
                            + " checkpoint (%.1f s), %.2f ms during %d checkpoints%n",
                    quietMs,
                    phaseNanos / 1e9,
                    pauseMs,
                    checkpoints);
            System.out.printf(
                    Locale.ROOT,
                    "a checkpoint takes %.1f ms on average (longest %.1f ms); I/O waits only for its exclusive step%n",
                    totalMs / checkpoints,
                    longestCheckpointMs);
            System.out.printf(
                    Locale.ROOT,
                    "result checkpoint_pause_ms=%.2f no_checkpoint_pause_ms=%.2f checkpoint_ms=%.1f%n",
                    pauseMs,
                    quietMs,
                    totalMs / checkpoints);
        }
    }
}
