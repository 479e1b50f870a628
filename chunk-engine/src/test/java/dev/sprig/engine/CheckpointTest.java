package dev.sprig.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The journal stays short whatever appends to it, checkpoints keep every acknowledged change, and
 * the files stream on open. Bounds here are generous: this is about "bounded", not about speed.
 */
class CheckpointTest {

    private static final int SEG = Layout.SEGMENT_SIZE;
    private static final long BOUND = 64 << 10;
    private static final Duration NEVER = Duration.ofDays(1);

    @TempDir
    Path dir;

    @Test
    void sustainedWritesAndFlushesKeepTheJournalUnderTwiceItsBound() throws IOException {
        long appended = 0;
        long largest = 0;
        int shrinks = 0;
        byte[] expected = new byte[64 * SEG];
        Random random = new Random(1);
        try (ChunkEngine engine = ChunkEngine.open(dir, EngineConfig.defaults().withCheckpoints(BOUND, NEVER))) {
            engine.create(1, expected.length);
            long before = 0;
            for (int i = 0; i < 4_000; i++) {
                byte[] block = new byte[4096];
                random.nextBytes(block);
                int offset = random.nextInt(expected.length / 4096) * 4096;
                engine.write(1, offset, block);
                System.arraycopy(block, 0, expected, offset, block.length);
                engine.flush(1);
                long now = engine.stats().journalBytes();
                appended += now < before ? now : now - before;
                shrinks += now < before ? 1 : 0;
                largest = Math.max(largest, Math.max(now, journalBytesOnDisk()));
                before = now;
            }
            System.out.printf("journal: %d bytes appended, %d checkpoints, largest %d%n", appended, shrinks, largest);
            assertThat(appended).as("journal traffic of the run").isGreaterThan(15 * BOUND);
            assertThat(shrinks).as("checkpoints that started a new journal").isGreaterThanOrEqualTo(10);
            assertThat(largest).as("largest journal seen").isLessThanOrEqualTo(2 * BOUND + 4096);
        }
        try (ChunkEngine engine = ChunkEngine.open(dir)) {
            assertThat(engine.read(1, 0, expected.length)).isEqualTo(expected);
        }
    }

    @Test
    void boundsTooLargeToComputeWithMeanNeverAndFlushesDoNotWait() {
        EngineConfig config =
                EngineConfig.defaults().withCheckpoints(Long.MAX_VALUE, Duration.ofSeconds(Long.MAX_VALUE));
        assertThat(config.checkpointJournalBytes()).isEqualTo(EngineConfig.MAX_CHECKPOINT_JOURNAL_BYTES);
        assertThat(config.checkpointInterval()).isEqualTo(EngineConfig.MAX_CHECKPOINT_INTERVAL);

        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            try (ChunkEngine engine = ChunkEngine.open(dir, config)) {
                engine.create(1, SEG);
                engine.write(1, 0, new byte[] {1});
                engine.flush(1);
                assertThat(engine.read(1, 0, 1)).containsExactly(1);
            }
        });
    }

    @Test
    void lineageChangesAloneAlsoTriggerCheckpoints() throws Exception {
        long bound = 16 << 10;
        try (ChunkEngine engine = ChunkEngine.open(dir, EngineConfig.defaults().withCheckpoints(bound, NEVER))) {
            engine.create(1, SEG);
            engine.freeze(1);
            long largest = 0;
            for (long lc = 2; lc < 1_500; lc++) {
                engine.createChild(lc, 1);
                engine.delete(lc);
                largest = Math.max(largest, engine.stats().journalBytes());
            }
            // no flush waits for the checkpointer here, so it only has to keep up within a few bounds
            assertThat(largest).as("largest journal seen").isLessThan(8 * bound);
            assertThat(engine.list()).extracting(LcInfo::lcId).containsExactly(1L);
        }
    }

    @Test
    void anOldJournalIsCheckpointedEvenWhenSmall() throws Exception {
        // 1 s, not less: the create, write and flush (which fsyncs the new data file and the
        // directory) must end before the age checkpoint may run, or the journal is empty already
        try (ChunkEngine engine =
                ChunkEngine.open(dir, EngineConfig.defaults().withCheckpoints(1L << 30, Duration.ofSeconds(1)))) {
            engine.create(1, SEG);
            engine.write(1, 0, new byte[] {7});
            engine.flush(1);
            assertThat(engine.stats().journalBytes()).isPositive();

            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (engine.stats().journalBytes() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }

            assertThat(engine.stats().journalBytes())
                    .as("journal after a checkpoint")
                    .isZero();
            assertThat(engine.read(1, 0, 1)).containsExactly(7);
        }
    }

    @Test
    void aCrashBetweenSwitchingJournalsAndWritingTheCheckpointReplaysBothJournals(@TempDir Path crashed)
            throws IOException {
        ChunkEngine engine = ChunkEngine.open(dir, EngineConfig.defaults().withCheckpoints(1L << 30, NEVER));
        engine.create(1, 4L * SEG);
        engine.write(1, 0, filled(SEG, 1));
        engine.write(1, SEG, filled(SEG, 2));
        engine.flush(1);
        // what the disk holds just before a checkpoint: checkpoint g and journal g (which the
        // checkpoint does not extend: nothing is pending)
        copyFiles(dir, crashed);
        engine.checkpoint();
        engine.write(1, 2L * SEG, filled(SEG, 3));
        engine.create(2, SEG);
        engine.flush(1);
        // journal g was complete before the switch; journal g+1 continues it, and the crash lost the
        // checkpoint that would have replaced journal g
        Path next = Journal.path(dir, currentGeneration());
        assertThat(crashed.resolve(next.getFileName())).doesNotExist();
        Files.copy(next, crashed.resolve(next.getFileName()));
        copyLcFiles(dir, crashed);
        engine.close();

        try (ChunkEngine recovered = ChunkEngine.open(crashed)) {
            assertThat(recovered.read(1, 0, 3 * SEG)).isEqualTo(concat(filled(SEG, 1), filled(SEG, 2), filled(SEG, 3)));
            assertThat(recovered.list()).extracting(LcInfo::lcId).containsExactlyInAnyOrder(1L, 2L);
            assertThat(recovered.scrub().clean()).isTrue();
        }
    }

    @Test
    void aTornJournalFollowedByARecordInTheNextIsReportedAsDamage() throws IOException {
        ChunkEngine engine = ChunkEngine.open(dir, EngineConfig.defaults().withCheckpoints(1L << 30, NEVER));
        engine.create(1, SEG);
        engine.close();
        long generation = currentGeneration();
        Files.write(Journal.path(dir, generation), new byte[] {0, 0, 0, 40, 1, 2}, StandardOpenOption.APPEND);
        try (Journal next = Journal.create(Journal.path(dir, generation + 1))) {
            next.append(new JournalRecord.Create(2, java.util.OptionalLong.empty(), SEG));
            next.force(new Durability(Fsync.SYSTEM));
        }

        assertThatThrownBy(() -> ChunkEngine.open(dir)).isInstanceOf(CorruptionException.class);
    }

    @Test
    void aTornJournalFollowedByAnEmptyOneOpensWithoutTheTornRecord() throws IOException {
        ChunkEngine engine = ChunkEngine.open(dir, EngineConfig.defaults().withCheckpoints(1L << 30, NEVER));
        engine.create(1, SEG);
        engine.close();
        long generation = currentGeneration();
        Files.write(Journal.path(dir, generation), new byte[] {0, 0, 0, 40, 1, 2}, StandardOpenOption.APPEND);
        Journal.create(Journal.path(dir, generation + 1)).close();

        try (ChunkEngine reopened = ChunkEngine.open(dir)) {
            assertThat(reopened.list()).extracting(LcInfo::lcId).containsExactly(1L);
        }
    }

    @Test
    void aJournalStreamsThroughABufferSmallerThanItsRecords() throws IOException {
        Path file = dir.resolve("journal-1.log");
        List<JournalRecord> written = new ArrayList<>();
        try (Journal journal = Journal.create(file)) {
            Random random = new Random(3);
            for (int i = 0; i < 2_000; i++) {
                JournalRecord r = i % 3 == 0
                        ? new JournalRecord.Flush(i, List.of(flushed(random), flushed(random), flushed(random)))
                        : new JournalRecord.Materialize(i, i * 7L, i % 16, crcs(random));
                journal.append(r);
                written.add(r);
            }
        }
        assertThat(Files.size(file)).isGreaterThan(500_000);

        List<JournalRecord> read = new ArrayList<>();
        Journal.Scan scan = Journal.scan(file, 64, read::add);

        assertThat(scan.records()).isEqualTo(written.size());
        assertThat(scan.torn()).isFalse();
        assertThat(read).usingRecursiveFieldByFieldElementComparator().isEqualTo(written);
    }

    @Test
    void aCheckpointLargerThanItsReadBufferReadsBackWhole() throws IOException {
        long size = 64 * Layout.PC_SIZE;
        byte[] data = new byte[(int) size];
        new Random(5).nextBytes(data);
        try (ChunkEngine engine = ChunkEngine.open(dir)) {
            engine.create(1, size);
            engine.write(1, 0, data);
            engine.freeze(1);
            for (long lc = 2; lc < 500; lc++) {
                engine.createChild(lc, 1);
                engine.write(lc, lc * 4096, new byte[] {(byte) lc});
            }
        }
        long checkpointBytes = Files.size(dir.resolve(Checkpoint.FILE));
        assertThat(checkpointBytes).isGreaterThan(16L * Checkpoint.MIN_BUFFER);

        Checkpoint.Loaded loaded = Checkpoint.read(dir, Checkpoint.MIN_BUFFER);

        assertThat(loaded.lcs()).hasSize(499);
        assertThat(loaded.lcs().get(1L).children).isEqualTo(498);
        assertThat(loaded.lcs().get(1L).pcs).hasSize(64);
        assertThat(loaded.lcs().get(17L).pcs).hasSize(1);
        try (ChunkEngine engine = ChunkEngine.open(dir)) {
            assertThat(engine.read(1, 0, data.length)).isEqualTo(data);
            assertThat(engine.read(17, 17 * 4096, 1)).containsExactly(17);
        }
    }

    @Test
    void aCheckpointThatCannotBeWrittenIsReportedAndLeavesNeitherATmpFileNorAPileOfJournals(@TempDir Path aside)
            throws IOException {
        Path checkpoint = dir.resolve(Checkpoint.FILE);
        Path tmp = dir.resolve(Checkpoint.FILE + ".tmp");
        try (ChunkEngine engine = ChunkEngine.open(dir, EngineConfig.defaults().withCheckpoints(1L << 30, NEVER))) {
            engine.create(1, SEG);
            engine.write(1, 0, filled(SEG, 1));
            engine.flush(1);
            // a non-empty directory where the checkpoint goes: the tmp file is written, the rename fails
            Files.move(checkpoint, aside.resolve(Checkpoint.FILE));
            Files.createDirectory(checkpoint);
            Files.createFile(checkpoint.resolve("blocker"));

            for (int i = 2; i < 6; i++) {
                engine.write(1, 0, filled(SEG, i));
                engine.flush(1);
                assertThatThrownBy(engine::checkpoint).isInstanceOf(EngineIoException.class);

                assertThat(tmp).as("partial checkpoint after failure " + i).doesNotExist();
                assertThat(journalFiles()).as("journals after failure " + i).hasSize(2);
                assertThat(engine.stats().checkpointFailure()).isNotNull();
                assertThat(engine.lastCheckpointFailure()).isInstanceOf(EngineIoException.class);
            }

            Files.delete(checkpoint.resolve("blocker"));
            Files.delete(checkpoint);
            Files.move(aside.resolve(Checkpoint.FILE), checkpoint);
            // a crash now restarts from the old checkpoint and both journals
            Path crashed = Files.createDirectory(aside.resolve("crashed"));
            copyFiles(dir, crashed);
            try (ChunkEngine recovered = ChunkEngine.open(crashed)) {
                assertThat(recovered.read(1, 0, SEG)).isEqualTo(filled(SEG, 5));
            }

            engine.checkpoint();

            assertThat(engine.stats().checkpointFailure()).isNull();
            assertThat(journalFiles()).hasSize(1);
            engine.write(1, 0, filled(SEG, 6));
        }
        try (ChunkEngine reopened = ChunkEngine.open(dir)) {
            assertThat(reopened.read(1, 0, SEG)).isEqualTo(filled(SEG, 6));
        }
    }

    @Test
    void aSnapshotEncodedInSmallChunksWritesTheSameCheckpoint(@TempDir Path small, @TempDir Path large)
            throws IOException {
        long size = 64 * Layout.PC_SIZE;
        byte[] data = new byte[(int) size];
        new Random(7).nextBytes(data);
        try (ChunkEngine engine = ChunkEngine.open(dir)) {
            engine.create(1, size);
            engine.write(1, 0, data);
            engine.freeze(1);
            for (long lc = 2; lc < 50; lc++) {
                engine.createChild(lc, 1);
                engine.write(lc, lc * SEG, data, 0, SEG);
            }
            engine.create(50, size);
            engine.write(50, 0, data);
        }
        Checkpoint.Loaded loaded = Checkpoint.read(dir);

        Checkpoint.snapshot(loaded.lcs().values(), Checkpoint.ChunkedSink.MIN_CHUNK_BYTES)
                .write(small, 3, new Durability(Fsync.SYSTEM));
        Checkpoint.snapshot(loaded.lcs().values()).write(large, 3, new Durability(Fsync.SYSTEM));

        byte[] written = Files.readAllBytes(small.resolve(Checkpoint.FILE));
        assertThat(written.length)
                .as("more than 50 small chunks")
                .isGreaterThan(50 * Checkpoint.ChunkedSink.MIN_CHUNK_BYTES);
        assertThat(written).isEqualTo(Files.readAllBytes(large.resolve(Checkpoint.FILE)));
        assertThat(Checkpoint.read(small).lcs()).hasSize(50);
    }

    private List<Path> journalFiles() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().startsWith("journal-"))
                    .toList();
        }
    }

    private static JournalRecord.FlushedSegment flushed(Random random) {
        return new JournalRecord.FlushedSegment(
                random.nextInt(1000), random.nextInt(16), random.nextInt(), crcs(random));
    }

    private static int[] crcs(Random random) {
        int[] c = new int[Layout.BLOCKS_PER_SEGMENT];
        for (int i = 0; i < c.length; i++) {
            c[i] = random.nextInt();
        }
        return c;
    }

    private long journalBytesOnDisk() throws IOException {
        long bytes = 0;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(f -> f.getFileName().toString().startsWith("journal-"))
                    .toList()) {
                try {
                    bytes = Math.max(bytes, Files.size(f));
                } catch (java.nio.file.NoSuchFileException retired) {
                    // a checkpoint deleted it meanwhile
                }
            }
        }
        return bytes;
    }

    private long currentGeneration() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(f -> f.getFileName().toString())
                    .filter(n -> n.startsWith("journal-"))
                    .mapToLong(n -> Long.parseLong(n.substring("journal-".length(), n.length() - ".log".length())))
                    .max()
                    .orElseThrow();
        }
    }

    private static void copyFiles(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.toList()) {
                if (!f.getFileName().toString().endsWith(".lock")) {
                    Files.copy(f, to.resolve(f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    private static void copyLcFiles(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.filter(f -> f.getFileName().toString().startsWith("lc-"))
                    .toList()) {
                Files.copy(f, to.resolve(f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    private static byte[] filled(int length, int value) {
        byte[] b = new byte[length];
        java.util.Arrays.fill(b, (byte) value);
        return b;
    }

    private static byte[] concat(byte[]... parts) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }
}
