package dev.sprig.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A disk whose fsync fails: real files, with only the fsync call made to fail (a healthy disk cannot
 * be made to fail one on demand). After the first failure the engine answers every change with
 * {@link EngineReadOnlyException}, keeps serving reads, holds nothing in memory that the disk may
 * not have, and recovers on reopen from what the disk does hold.
 */
class FailedFsyncTest {

    private static final long PC = ChunkEngine.PC_SIZE;
    private static final int SEG = ChunkEngine.SEGMENT_SIZE;

    @TempDir
    Path dir;

    private final AtomicBoolean failing = new AtomicBoolean();
    private final AtomicInteger fsyncs = new AtomicInteger();
    private ChunkEngine engine;

    @BeforeEach
    void open() {
        engine = ChunkEngine.open(dir, EngineConfig.defaults(), (channel, metaData) -> {
            fsyncs.incrementAndGet();
            if (failing.get()) {
                throw new IOException("Input/output error");
            }
            channel.force(metaData);
        });
    }

    @AfterEach
    void close() {
        engine.close();
    }

    private static byte[] bytes(int length, long seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void aCreateWhoseFsyncFailsLeavesNoLcBehind() {
        engine.create(1, PC);
        failing.set(true);

        assertThatThrownBy(() -> engine.createAll(List.of(NewLc.root(2, PC), NewLc.root(3, PC))))
                .isInstanceOf(EngineReadOnlyException.class);

        assertThat(engine.list()).extracting(LcInfo::lcId).containsExactly(1L);
        assertThat(engine.readOnlyReason())
                .hasValueSatisfying(reason -> assertThat(reason).contains("fsync of journal failed"));
    }

    @Test
    void aChildWhoseCreateFailedIsNotCountedAgainstItsParent() {
        engine.create(1, PC);
        engine.freeze(1);
        failing.set(true);

        assertThatThrownBy(() -> engine.createChild(2, 1)).isInstanceOf(EngineReadOnlyException.class);

        assertThat(engine.info(1).children()).isZero();
    }

    @Test
    void afterAFailedFlushEveryChangeIsRefusedAndReadsGoOn() {
        engine.create(1, 2 * PC);
        engine.create(2, PC);
        engine.freeze(2);
        byte[] durable = bytes(SEG, 1);
        engine.write(1, 0, durable);
        engine.flush(1);
        byte[] notDurable = bytes(SEG, 2);
        engine.write(1, SEG, notDurable);
        failing.set(true);

        assertThatThrownBy(() -> engine.flush(1)).isInstanceOf(EngineReadOnlyException.class);

        failing.set(false); // a retried fsync may succeed without the data: the engine must not retry
        List<ThrowingCallable> changes = List.of(
                () -> engine.write(1, 0, new byte[4096]),
                () -> engine.writeZeroes(1, 0, SEG),
                () -> engine.trim(1, 0, SEG),
                () -> engine.flush(1),
                () -> engine.flushAll(),
                () -> engine.checkpoint(),
                () -> engine.create(3, PC),
                () -> engine.createChild(3, 2),
                () -> engine.freeze(1),
                () -> engine.grow(1, 4 * PC),
                () -> engine.delete(2),
                () -> engine.flatten(1, (done, all) -> {}));
        for (ThrowingCallable change : changes) {
            assertThatThrownBy(change).isInstanceOf(EngineReadOnlyException.class);
        }
        assertThat(engine.read(1, 0, SEG)).isEqualTo(durable);
        assertThat(engine.read(1, SEG, SEG)).isEqualTo(notDurable);
        assertThat(engine.list()).extracting(LcInfo::lcId).containsExactly(1L, 2L);
    }

    @Test
    void aReadOnlyEngineWritesNoCheckpointOnCloseAndReopensFromWhatIsDurable() throws IOException {
        engine.create(1, PC);
        byte[] durable = bytes(SEG, 3);
        engine.write(1, 0, durable);
        engine.flush(1);
        byte[] checkpointBefore = Files.readAllBytes(dir.resolve("checkpoint"));
        failing.set(true);
        assertThatThrownBy(() -> engine.create(2, PC)).isInstanceOf(EngineReadOnlyException.class);
        int fsyncsWhenReadOnly = fsyncs.get();

        engine.close();

        assertThat(fsyncs.get()).as("fsyncs after turning read-only").isEqualTo(fsyncsWhenReadOnly);
        assertThat(Files.readAllBytes(dir.resolve("checkpoint"))).isEqualTo(checkpointBefore);
        failing.set(false);
        engine = ChunkEngine.open(dir);
        assertThat(engine.readOnlyReason()).isEmpty();
        assertThat(engine.read(1, 0, SEG)).isEqualTo(durable);
        engine.write(1, SEG, durable);
        engine.flush(1);
    }
}
