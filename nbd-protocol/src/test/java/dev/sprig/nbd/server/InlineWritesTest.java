package dev.sprig.nbd.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.nbd.Nbd;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A disk that says its small writes are cheap gets them done on the event loop, sparing two thread
 * hand-offs per write; writes that must reach the device (FUA) or are large still go to a worker,
 * and a disk that says nothing keeps every write off the event loop.
 */
class InlineWritesTest {

    static final int SIZE = 4 << 20;

    NbdServer server;

    @AfterEach
    void stop() throws Exception {
        server.close();
    }

    @Test
    void smallWritesOfADiskThatAsksRunOnTheEventLoop() throws Exception {
        ThreadRecordingDisk disk = serve(true);
        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", server.port(), "disk")) {
            assertThat(client.write(0, new byte[4096])).isZero();
            assertThat(client.write(8192, new byte[TransmissionHandler.INLINE_WRITE]))
                    .isZero();
        }
        assertThat(disk.writers).hasSize(2).noneMatch(InlineWritesTest::isWorker);
    }

    @Test
    void fuaAndLargeWritesStillGoToAWorker() throws Exception {
        ThreadRecordingDisk disk = serve(true);
        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", server.port(), "disk")) {
            assertThat(client.write(0, new byte[4096], Nbd.CMD_FLAG_FUA)).isZero();
            assertThat(client.write(0, new byte[TransmissionHandler.INLINE_WRITE + 4096]))
                    .isZero();
        }
        assertThat(disk.writers).hasSize(2).allMatch(InlineWritesTest::isWorker);
    }

    @Test
    void aDiskThatDoesNotAskHasEveryWriteOnAWorker() throws Exception {
        ThreadRecordingDisk disk = serve(false);
        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", server.port(), "disk")) {
            assertThat(client.write(0, new byte[4096])).isZero();
        }
        assertThat(disk.writers).hasSize(1).allMatch(InlineWritesTest::isWorker);
    }

    @Test
    void anInlineWriteIsReadBackAndAFlushAfterItSeesIt() throws Exception {
        ThreadRecordingDisk disk = serve(true);
        byte[] data = new byte[4096];
        data[0] = 7;
        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", server.port(), "disk")) {
            assertThat(client.write(4096, data)).isZero();
            assertThat(client.command(Nbd.CMD_FLUSH, 0, 0)).isZero();
            assertThat(client.read(4096, 4096).data()).isEqualTo(data);
        }
        assertThat(disk.flushedAfterWrites).isEqualTo(1);
    }

    @Test
    void aServerWithOneEventLoopServesEveryConnectionOnOneThread() throws Exception {
        ThreadRecordingDisk disk = serve(true, 1);
        writeOnTwoConnections();
        assertThat(disk.writers).hasSize(2).noneMatch(InlineWritesTest::isWorker);
        assertThat(disk.writers.get(0)).isEqualTo(disk.writers.get(1));
    }

    @Test
    void byDefaultConnectionsAreSpreadOverEventLoops() throws Exception {
        ThreadRecordingDisk disk = serve(true);
        writeOnTwoConnections();
        assertThat(disk.writers).hasSize(2).noneMatch(InlineWritesTest::isWorker);
        assertThat(disk.writers.get(0)).isNotEqualTo(disk.writers.get(1));
    }

    /** One inline write on each of two connections open at once. */
    private void writeOnTwoConnections() throws IOException {
        try (RawNbdClient first = RawNbdClient.open("127.0.0.1", server.port(), "disk");
                RawNbdClient second = RawNbdClient.open("127.0.0.1", server.port(), "disk")) {
            assertThat(first.write(0, new byte[4096])).isZero();
            assertThat(second.write(4096, new byte[4096])).isZero();
        }
    }

    private static boolean isWorker(String thread) {
        return thread.startsWith("test-worker");
    }

    private ThreadRecordingDisk serve(boolean inline) throws InterruptedException {
        return serve(inline, 0);
    }

    private ThreadRecordingDisk serve(boolean inline, int eventLoops) throws InterruptedException {
        ThreadRecordingDisk disk = new ThreadRecordingDisk(inline);
        NbdExports exports = new NbdExports() {
            @Override
            public @Nullable NbdDisk open(String name) throws IOException {
                return "disk".equals(name) ? disk : null;
            }

            @Override
            public List<String> list() {
                return List.of("disk");
            }
        };
        server = NbdServer.start(
                exports, "127.0.0.1", 0, new NbdServer.Settings(2, eventLoops, Duration.ofSeconds(2), "test-worker"));
        return disk;
    }

    /** A memory disk that notes on which thread each write ran. */
    static final class ThreadRecordingDisk implements NbdDisk {

        final MemoryDisk memory = new MemoryDisk(SIZE);
        final List<String> writers = new CopyOnWriteArrayList<>();
        final boolean inline;
        volatile int flushedAfterWrites;

        ThreadRecordingDisk(boolean inline) {
            this.inline = inline;
        }

        @Override
        public boolean writesInline(long offset, int length) {
            return inline;
        }

        @Override
        public long sizeBytes() {
            return SIZE;
        }

        @Override
        public int read(long offset, int length, ByteBuf into) {
            return memory.read(offset, length, into);
        }

        @Override
        public int write(long offset, ByteBuf data, boolean fua) {
            writers.add(Thread.currentThread().getName());
            return memory.write(offset, data, fua);
        }

        @Override
        public int trim(long offset, long length, boolean fua) {
            return memory.trim(offset, length, fua);
        }

        @Override
        public int writeZeroes(long offset, long length, boolean fua) {
            return memory.writeZeroes(offset, length, fua);
        }

        @Override
        public int flush() {
            flushedAfterWrites = writers.size();
            return 0;
        }

        @Override
        public int allocation(long offset, long length, Extents into) {
            return memory.allocation(offset, length, into);
        }
    }
}
