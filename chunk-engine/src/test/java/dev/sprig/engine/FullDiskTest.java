package dev.sprig.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An engine on a real 64 MiB file system that fills up: a full disk is not a failed fsync. Writes
 * and creates fail with {@link NoSpaceException} having changed nothing durable, the engine stays
 * writable, what was acknowledged reads back, and the same calls succeed once space is freed.
 */
class FullDiskTest {

    private static final int MIB = 1 << 20;
    private static final int SEG = ChunkEngine.SEGMENT_SIZE;

    @TempDir
    Path tmp;

    private SmallFileSystem disk;
    private Path dir;
    private ChunkEngine engine;

    @BeforeEach
    void open() {
        disk = SmallFileSystem.mount(tmp.resolve("mnt"), 64);
        dir = disk.path().resolve("engine");
        engine = ChunkEngine.open(dir);
    }

    @AfterEach
    void close() {
        try {
            if (engine != null) {
                engine.close();
            }
        } finally {
            disk.close();
        }
    }

    private static byte[] bytes(int length, long seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** A batch large enough that its journal record spans pages, so a full disk tears it. */
    private static List<NewLc> batch(long firstId) {
        List<NewLc> batch = new ArrayList<>();
        for (long id = firstId; id < firstId + 2_000; id++) {
            batch.add(NewLc.root(id, MIB));
        }
        return batch;
    }

    @Test
    void writesOnAFullDiskFailWithNoSpaceAndSucceedOnceSpaceIsFreed() {
        engine.create(1, 32L * MIB);
        byte[] acknowledged = bytes(4 * MIB, 1);
        engine.write(1, 0, acknowledged);
        engine.flush(1);
        disk.fill();
        byte[] later = bytes(SEG, 2);

        assertThatThrownBy(() -> engine.write(1, 8 * MIB, later))
                .isInstanceOf(NoSpaceException.class)
                .hasMessageContaining("No space left on device");

        assertThat(engine.readOnlyReason()).isEmpty();
        assertThat(engine.read(1, 0, acknowledged.length)).isEqualTo(acknowledged);
        assertThat(engine.read(1, 8 * MIB, SEG)).containsOnly(0);
        disk.free();
        engine.write(1, 8 * MIB, later);
        engine.flush(1);
        assertThat(engine.read(1, 8 * MIB, SEG)).isEqualTo(later);
    }

    @Test
    void aCreateTornByAFullDiskLosesNothingAppendedAfterIt() {
        engine.create(1, MIB);
        disk.fill();

        assertThatThrownBy(() -> engine.createAll(batch(1_000))).isInstanceOf(NoSpaceException.class);

        assertThat(engine.list()).extracting(LcInfo::lcId).containsExactly(1L);
        disk.free();
        engine.createAll(batch(10_000));
        engine.close();
        engine = ChunkEngine.open(dir);
        assertThat(engine.list()).hasSize(1 + 2_000);
        assertThat(engine.info(11_999).sizeBytes()).isEqualTo(MIB);
    }

    @Test
    void aJournalRecordTornByAFullDiskIsCutSoThatLaterRecordsReplay() throws Exception {
        Path file = Journal.path(disk.path(), 99);
        Journal journal = Journal.create(file);
        journal.append(new JournalRecord.Freeze(1));
        disk.fill();

        assertThatThrownBy(() -> journal.append(new JournalRecord.CreateAll(batch(1_000))))
                .hasMessageContaining("No space left on device");

        disk.free();
        journal.append(new JournalRecord.Freeze(2));
        journal.force(new Durability(Fsync.SYSTEM));
        journal.close();
        assertThat(Journal.read(file).records())
                .containsExactly(new JournalRecord.Freeze(1), new JournalRecord.Freeze(2));
    }
}
