package dev.sprig.engine;

import static dev.sprig.engine.EnginePropertyTest.assertSameBytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.Random;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** {@code createAll}: a bulk clone is one durable journal record, applied entirely or not at all. */
class CreateAllTest {

    private static final int SEG = Layout.SEGMENT_SIZE;
    private static final long PC = Layout.PC_SIZE;
    private static final long IMAGE = 1;
    private static final long DISK = 2;
    private static final int CLONES = 2_500;

    @TempDir
    Path dir;

    private ChunkEngine engine;
    private byte[] image;

    /** A frozen 2-PC image with data (lc 1) and a writable clone of it (lc 2). */
    @BeforeEach
    void open() {
        engine = ChunkEngine.open(dir);
        image = new byte[(int) (2 * PC)];
        new Random(1).nextBytes(image);
        engine.create(IMAGE, 2 * PC);
        engine.write(IMAGE, 0, image);
        engine.freeze(IMAGE);
        engine.createChild(DISK, IMAGE);
    }

    @AfterEach
    void close() {
        engine.close();
    }

    private void reopen() {
        engine.close();
        engine = ChunkEngine.open(dir);
    }

    private static List<NewLc> clonesOfImage(int count) {
        List<NewLc> batch = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            // every tenth clone is larger than the image; the part past the image reads as zeros
            batch.add(NewLc.child(100 + i, IMAGE, i % 10 == 0 ? 3 * PC : 2 * PC));
        }
        return batch;
    }

    @Test
    void bulkCloneOf2500ClonesReadsThroughTheImageAndSurvivesReopen() {
        long t0 = System.nanoTime();
        engine.createAll(clonesOfImage(CLONES));
        double millis = (System.nanoTime() - t0) / 1e6;
        System.out.printf(Locale.ROOT, "createAll of %d clones: %.1f ms%n", CLONES, millis);

        for (int reopened = 0; reopened < 2; reopened++) {
            assertThat(engine.info(IMAGE).children()).isEqualTo(CLONES + 1);
            for (int i = 0; i < CLONES; i++) {
                long lc = 100 + i;
                long size = i % 10 == 0 ? 3 * PC : 2 * PC;
                assertThat(engine.info(lc)).isEqualTo(new LcInfo(lc, OptionalLong.of(IMAGE), size, false, 0));
                long at = (long) (i % 32) * SEG + i;
                assertSameBytes(engine.read(lc, at, 4096), slice(image, at, 4096), "clone " + lc);
            }
            assertSameBytes(engine.read(100, 0, image.length), image, "clone 100, whole");
            assertSameBytes(engine.read(100, 2 * PC, (int) PC), new byte[(int) PC], "clone 100 past the image");
            reopen();
        }
    }

    @Test
    void concurrentCreatesRacingCheckpointsAreAllInTheJournalOnReturn(@TempDir Path crashed) throws Exception {
        int threads = 8;
        int each = 150;
        var stop = new java.util.concurrent.atomic.AtomicBoolean();
        var pool = java.util.concurrent.Executors.newFixedThreadPool(threads + 1);
        try {
            // creates force the journal outside the engine lock, so a checkpoint may retire the
            // journal a create appended to before that create forces it
            var checkpoints = pool.submit(() -> {
                while (!stop.get()) {
                    engine.checkpoint();
                }
                return null;
            });
            List<java.util.concurrent.Future<?>> creators = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                long first = 1_000L + (long) t * each;
                creators.add(pool.submit(() -> {
                    for (long lc = first; lc < first + each; lc++) {
                        engine.createChild(lc, IMAGE);
                    }
                    return null;
                }));
            }
            for (var creator : creators) {
                creator.get();
            }
            stop.set(true);
            checkpoints.get();
        } finally {
            pool.shutdownNow();
        }

        // what a kill -9 now would leave: the files as they are, with no closing checkpoint
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.toList()) {
                if (!file.getFileName().toString().endsWith(".lock")) {
                    Files.copy(file, crashed.resolve(file.getFileName()));
                }
            }
        }
        try (ChunkEngine recovered = ChunkEngine.open(crashed)) {
            assertThat(recovered.info(IMAGE).children()).isEqualTo(threads * each + 1);
            assertSameBytes(recovered.read(1_000L + threads * each - 1, 0, 4096), slice(image, 0, 4096), "last clone");
        }
    }

    @Test
    void clonesOfABulkCloneAreIndependentDisks() {
        engine.createAll(clonesOfImage(3));

        engine.write(101, 5, new byte[] {42});

        assertThat(engine.read(101, 5, 1)).containsExactly(42);
        assertThat(engine.read(102, 5, 1)).containsExactly(image[5]);
        assertThat(engine.read(IMAGE, 5, 1)).containsExactly(image[5]);
    }

    @Test
    void aBatchIsOneJournalRecord() throws IOException {
        long before = engine.stats().journalBytes();

        engine.createAll(clonesOfImage(CLONES));

        List<JournalRecord> records = Journal.read(journalFile()).records();
        assertThat(records.get(records.size() - 1))
                .isInstanceOfSatisfying(
                        JournalRecord.CreateAll.class, r -> assertThat(r.lcs()).isEqualTo(clonesOfImage(CLONES)));
        assertThat(engine.stats().journalBytes() - before)
                .as("one framed record: 8 + 5 + 26 bytes per lc")
                .isEqualTo(8 + 5 + 26L * CLONES);
    }

    @Test
    void aBatchCanDefineAnImageItsSnapshotsAndTheirClones() {
        engine.createAll(List.of(
                new NewLc(10, null, PC, true),
                new NewLc(11, 10L, PC, true),
                new NewLc(12, 11L, 2 * PC, false),
                new NewLc(13, IMAGE, 2 * PC, true),
                new NewLc(14, 13L, 2 * PC, false)));

        for (int reopened = 0; reopened < 2; reopened++) {
            assertThat(engine.list())
                    .filteredOn(i -> i.lcId() >= 10)
                    .extracting(i -> i.parentLcId().orElse(-1), LcInfo::sizeBytes, LcInfo::frozen, LcInfo::children)
                    .containsExactly(
                            tuple(-1L, PC, true, 1),
                            tuple(10L, PC, true, 1),
                            tuple(11L, 2 * PC, false, 0),
                            tuple(IMAGE, 2 * PC, true, 1),
                            tuple(13L, 2 * PC, false, 0));
            assertSameBytes(engine.read(12, 0, (int) (2 * PC)), new byte[(int) (2 * PC)], "clone of a blank image");
            assertSameBytes(engine.read(14, 0, image.length), image, "clone of a snapshot of the image");
            reopen();
        }
        assertThatThrownBy(() -> engine.write(13, 0, new byte[1])).isInstanceOf(FrozenLcException.class);
        engine.write(14, 0, new byte[] {7});
        assertThat(engine.read(14, 0, 1)).containsExactly(7);
    }

    @Test
    void anEmptyBatchChangesNothing() {
        long journalBytes = engine.stats().journalBytes();

        engine.createAll(List.of());

        assertThat(engine.stats().journalBytes()).isEqualTo(journalBytes);
        assertThat(engine.list()).hasSize(2);
    }

    static Stream<Arguments> badEntries() {
        return Stream.of(
                Arguments.of("an id that exists", NewLc.child(DISK, IMAGE, 2 * PC), LcExistsException.class),
                Arguments.of("an id twice in the batch", NewLc.child(100, IMAGE, 2 * PC), LcExistsException.class),
                Arguments.of("a parent that does not exist", NewLc.child(900, 99, 2 * PC), UnknownLcException.class),
                Arguments.of("a parent later in the batch", NewLc.child(900, 901, 2 * PC), UnknownLcException.class),
                Arguments.of("a writable parent", NewLc.child(900, DISK, 2 * PC), ParentNotFrozenException.class),
                Arguments.of(
                        "a parent in the batch not marked frozen",
                        NewLc.child(900, 101, 2 * PC),
                        ParentNotFrozenException.class),
                Arguments.of("a zero size", NewLc.root(900, 0), OutOfRangeException.class),
                Arguments.of("a negative size", NewLc.root(900, -PC), OutOfRangeException.class),
                Arguments.of("a negative id", NewLc.root(-900, PC), OutOfRangeException.class),
                Arguments.of(
                        "a child smaller than its parent", NewLc.child(900, IMAGE, PC), OutOfRangeException.class));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badEntries")
    void aBatchWithOneBadEntryAppliesNothing(String why, NewLc bad, Class<? extends EngineException> refusal) {
        List<NewLc> batch = new ArrayList<>(clonesOfImage(500));
        batch.add(250, bad);
        batch.add(NewLc.child(901, IMAGE, 2 * PC));
        List<LcInfo> before = engine.list();
        long journalBytes = engine.stats().journalBytes();

        assertThatThrownBy(() -> engine.createAll(batch)).isInstanceOf(refusal);

        assertThat(engine.list()).isEqualTo(before);
        assertThat(engine.stats().journalBytes()).isEqualTo(journalBytes);
        reopen();
        assertThat(engine.list()).isEqualTo(before);
        engine.createAll(clonesOfImage(500));
        assertThat(engine.info(IMAGE).children()).isEqualTo(501);
    }

    @Test
    void aBatchLargerThanOneRecordCanHoldIsRefused() {
        List<NewLc> huge = new ArrayList<>();
        for (int i = 0; i <= JournalRecord.CreateAll.MAX_LCS; i++) {
            huge.add(NewLc.child(100 + i, IMAGE, 2 * PC));
        }
        assertThatThrownBy(() -> engine.createAll(huge)).isInstanceOf(OutOfRangeException.class);
        assertThat(engine.list()).hasSize(2);
    }

    @Test
    void singleLcCallsKeepTheirMeaning() {
        engine.create(20, PC);
        engine.createChild(21, IMAGE);
        engine.createChild(22, IMAGE, 3 * PC);

        assertThat(engine.info(20)).isEqualTo(new LcInfo(20, OptionalLong.empty(), PC, false, 0));
        assertThat(engine.info(21).sizeBytes()).isEqualTo(2 * PC);
        assertThat(engine.info(22).sizeBytes()).isEqualTo(3 * PC);
        assertThatThrownBy(() -> engine.create(23, 0)).isInstanceOf(OutOfRangeException.class);
    }

    /**
     * A crash while the record is being appended leaves a prefix of it: every such prefix replays as
     * no batch at all, and the complete record as the whole batch.
     */
    @Test
    void everyTornPrefixOfABatchRecordRecoversAsNoBatch(@TempDir Path copies) throws IOException {
        List<NewLc> batch = new ArrayList<>(clonesOfImage(40));
        batch.add(new NewLc(500, null, PC, true));
        batch.add(NewLc.child(501, 500, PC));
        List<LcInfo> before = engine.list();
        long start = engine.stats().journalBytes();
        engine.createAll(batch);
        long end = engine.stats().journalBytes();
        List<LcInfo> after = engine.list();
        assertThat(Files.size(journalFile())).isEqualTo(end);

        // every cut through the frame header and the record's ends, and every 97th byte between
        TreeSet<Long> cuts = new TreeSet<>();
        for (long cut = start; cut <= end; cut += 97) {
            cuts.add(cut);
        }
        for (int i = 0; i <= 16; i++) {
            cuts.add(start + i);
            cuts.add(end - i);
        }
        for (long cut : cuts) {
            Path copy = Files.createDirectory(copies.resolve("cut-" + cut));
            copyEngineFiles(dir, copy);
            try (FileChannel ch =
                    FileChannel.open(copy.resolve(journalFile().getFileName()), StandardOpenOption.WRITE)) {
                ch.truncate(cut);
            }
            try (ChunkEngine recovered = ChunkEngine.open(copy)) {
                assertThat(recovered.list()).as("journal cut at byte %d", cut).isEqualTo(cut == end ? after : before);
                assertSameBytes(recovered.read(DISK, 0, image.length), image, "disk after cut at " + cut);
            }
        }
    }

    private Path journalFile() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().startsWith("journal-"))
                    .findFirst()
                    .orElseThrow();
        }
    }

    /** Copies the metadata; links the data files, which recovery of frozen, flushed lcs only reads. */
    private static void copyEngineFiles(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.list(from)) {
            for (Path f : files.toList()) {
                String name = f.getFileName().toString();
                if (name.endsWith(".data")) {
                    Files.createLink(to.resolve(name), f);
                } else if (!name.equals("engine.lock")) {
                    Files.copy(f, to.resolve(name));
                }
            }
        }
    }

    private static byte[] slice(byte[] b, long from, int length) {
        return Arrays.copyOfRange(b, (int) from, (int) from + length);
    }
}
