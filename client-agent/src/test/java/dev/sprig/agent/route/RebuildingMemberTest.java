package dev.sprig.agent.route;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.nbd.Nbd;
import dev.sprig.nbd.server.Extents;
import dev.sprig.nbd.server.MemoryDisk;
import dev.sprig.nbd.server.NbdDisk;
import dev.sprig.nbd.server.NbdServer;
import dev.sprig.nbd.server.RawNbdClient;
import io.netty.buffer.ByteBuf;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A replicated disk of one column on three in-memory "nodes": two in sync, the third rebuilding
 * (issue 20). Writes, zeroing, trims and flushes reach all three; reads and block status only the
 * in-sync two. Nothing fails here, so api-server is never asked.
 */
class RebuildingMemberTest {

    static final int PC = 64 << 10;
    static final int SIZE = 4 * PC;

    final CountingDisk[] held = {new CountingDisk(), new CountingDisk(), new CountingDisk()};
    final NbdServer[] nodes = new NbdServer[3];
    NodeChannels channels;
    NbdServer agent;

    @BeforeEach
    void start() throws Exception {
        for (int n = 0; n < 3; n++) {
            CountingDisk disk = held[n];
            nodes[n] = NbdServer.start(
                    name -> name.equals("token/7") ? disk : null,
                    "127.0.0.1",
                    0,
                    NbdServer.Settings.of(1, "node-" + n));
        }
        channels = new NodeChannels(Duration.ofSeconds(60));
        var column = new ReplicaColumn(0, 4, List.of(member(0), member(1)), List.of(member(2)), List.of("old"));
        var attachment = new Attachment("disk-rebuilding", 7, SIZE, PC, List.of(column), true, Long.MAX_VALUE);
        var disk = new ProxiedDisk(
                attachment,
                new Attachments(URI.create("http://127.0.0.1:9"), "unused"),
                channels,
                Executors.newSingleThreadExecutor());
        agent = NbdServer.start(
                name -> name.equals("disk-rebuilding") ? disk : null,
                "127.0.0.1",
                0,
                NbdServer.Settings.of(1, "agent"));
    }

    private ReplicaMember member(int n) {
        return new ReplicaMember("node-" + n, new NodeExport("127.0.0.1", nodes[n].port(), "token/7"));
    }

    @AfterEach
    void stop() throws Exception {
        agent.close();
        channels.close();
        for (NbdServer node : nodes) {
            node.close();
        }
    }

    @Test
    void everyChangeReachesTheRebuildingMemberToo() throws Exception {
        byte[] data = new byte[2 * PC];
        new Random(3).nextBytes(data);
        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", agent.port(), "disk-rebuilding")) {
            assertThat(client.write(PC / 2, data)).isZero();
            assertThat(client.command(Nbd.CMD_WRITE_ZEROES, PC, 4096)).isZero();
            assertThat(client.command(Nbd.CMD_TRIM, PC + 8192, 4096)).isZero();
            assertThat(client.command(Nbd.CMD_FLUSH, 0, 0)).isZero();
        }
        byte[] expected = data.clone();
        java.util.Arrays.fill(expected, PC / 2, PC / 2 + 4096, (byte) 0);
        java.util.Arrays.fill(expected, PC / 2 + 8192, PC / 2 + 8192 + 4096, (byte) 0);
        for (int n = 0; n < 3; n++) {
            assertThat(ProxiedDiskTest.bytes(held[n].memory, PC / 2, data.length))
                    .as("node-%d", n)
                    .isEqualTo(expected);
            assertThat(held[n].writes.get())
                    .as("three PCs' pieces written, a zeroing and a trim on node-%d", n)
                    .isEqualTo(5);
            assertThat(held[n].flushes.get()).as("flushes on node-%d", n).isEqualTo(1);
        }
    }

    @Test
    void readsAndBlockStatusNeverReachTheRebuildingMember() throws Exception {
        try (RawNbdClient client = RawNbdClient.connect("127.0.0.1", agent.port())) {
            client.structuredReplies();
            client.metaContext(Nbd.OPT_SET_META_CONTEXT, "disk-rebuilding", Nbd.BASE_ALLOCATION);
            assertThat(client.option(Nbd.OPT_GO, "disk-rebuilding")).isEqualTo(Nbd.REP_ACK);
            assertThat(client.write(0, new byte[4096])).isZero();
            for (int i = 0; i < 40; i++) {
                assertThat(client.read((long) (i % 4) * PC, 8192).error()).isZero();
                assertThat(client.blockStatus((long) (i % 4) * PC, PC, 0).error())
                        .isZero();
            }
        }

        assertThat(held[2].reads.get()).as("reads on the rebuilding member").isZero();
        assertThat(held[2].statuses.get())
                .as("block status on the rebuilding member")
                .isZero();
        assertThat(held[0].reads.get() + held[1].reads.get()).isEqualTo(40);
        assertThat(held[0].statuses.get() + held[1].statuses.get()).isEqualTo(40);
        assertThat(held[2].writes.get()).as("but it took the write").isEqualTo(1);
    }

    /** A disk in memory that counts what it is asked. */
    static final class CountingDisk implements NbdDisk {

        final MemoryDisk memory = new MemoryDisk(SIZE);
        final AtomicInteger reads = new AtomicInteger();
        final AtomicInteger statuses = new AtomicInteger();
        final AtomicInteger writes = new AtomicInteger();
        final AtomicInteger flushes = new AtomicInteger();

        @Override
        public long sizeBytes() {
            return memory.sizeBytes();
        }

        @Override
        public int read(long offset, int length, ByteBuf into) {
            reads.incrementAndGet();
            return memory.read(offset, length, into);
        }

        @Override
        public int write(long offset, ByteBuf data, boolean fua) {
            writes.incrementAndGet();
            return memory.write(offset, data, fua);
        }

        @Override
        public int trim(long offset, long length, boolean fua) {
            writes.incrementAndGet();
            return memory.trim(offset, length, fua);
        }

        @Override
        public int writeZeroes(long offset, long length, boolean fua) {
            writes.incrementAndGet();
            return memory.writeZeroes(offset, length, fua);
        }

        @Override
        public int flush() {
            flushes.incrementAndGet();
            return memory.flush();
        }

        @Override
        public int allocation(long offset, long length, Extents into) {
            statuses.incrementAndGet();
            return memory.allocation(offset, length, into);
        }
    }
}
