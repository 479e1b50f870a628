package dev.sprig.agent.route;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.nbd.Nbd;
import dev.sprig.nbd.server.MemoryDisk;
import dev.sprig.nbd.server.NbdServer;
import dev.sprig.nbd.server.RawNbdClient;
import dev.sprig.nbd.server.RawNbdClient.Extent;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The agent's forwarding without api-server: a disk striped over two in-memory "nodes" with 64 KiB
 * PCs, served by the agent's NBD server and driven by a raw client.
 */
class ProxiedDiskTest {

    static final int PC = 64 << 10;
    static final int SIZE = 16 * PC;

    final MemoryDisk[] held = {new MemoryDisk(SIZE), new MemoryDisk(SIZE)};
    NbdServer[] nodes = new NbdServer[2];
    NodeChannels channels;
    NbdServer agent;

    @BeforeEach
    void start() throws Exception {
        for (int n = 0; n < 2; n++) {
            MemoryDisk disk = held[n];
            nodes[n] = NbdServer.start(
                    name -> name.equals("token/7") ? disk : null,
                    "127.0.0.1",
                    0,
                    NbdServer.Settings.of(2, "node-" + n));
        }
        channels = new NodeChannels(Duration.ofMillis(300));
        var attachment = new Attachment(
                "disk-test",
                7,
                SIZE,
                PC,
                List.of(
                        new NodeExport("127.0.0.1", nodes[0].port(), "token/7"),
                        new NodeExport("127.0.0.1", nodes[1].port(), "token/7")));
        // never asked in these tests: nothing here refuses a request or breaks a connection
        var attachments = new Attachments(URI.create("http://127.0.0.1:9"), "unused");
        var disk = new ProxiedDisk(attachment, attachments, channels, Executors.newSingleThreadExecutor());
        agent = NbdServer.start(
                name -> name.equals("disk-test") ? disk : null, "127.0.0.1", 0, NbdServer.Settings.of(1, "agent"));
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
    void aWriteAcrossPcsLandsOnEachPcsNodeAndReadsBack() throws Exception {
        byte[] data = new byte[3 * PC];
        new Random(1).nextBytes(data);
        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", agent.port(), "disk-test")) {
            assertThat(client.write(PC / 2, data)).isZero();

            assertThat(client.read(PC / 2, data.length).data()).isEqualTo(data);
        }
        // PCs 0 and 2 live on node 0, PCs 1 and 3 on node 1
        assertThat(bytes(held[0], PC / 2, PC / 2)).isEqualTo(slice(data, 0, PC / 2));
        assertThat(bytes(held[1], PC, PC)).isEqualTo(slice(data, PC / 2, PC));
        assertThat(bytes(held[1], 0, PC)).as("node 1 holds nothing of PC 0").containsOnly(0);
        assertThat(bytes(held[0], 2 * PC, PC)).isEqualTo(slice(data, PC + PC / 2, PC));
    }

    @Test
    void manyRequestsInFlightGetTheirOwnReplies() throws Exception {
        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", agent.port(), "disk-test")) {
            for (int pc = 0; pc < 16; pc++) {
                byte[] fill = new byte[PC];
                java.util.Arrays.fill(fill, (byte) pc);
                assertThat(client.write((long) pc * PC, fill)).isZero();
            }
            for (int pc = 15; pc >= 0; pc--) {
                assertThat(client.read((long) pc * PC + 100, 1000).data()).containsOnly(pc);
            }
        }
    }

    @Test
    void requestsOfNoBytesAreAnswered() throws Exception {
        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", agent.port(), "disk-test")) {
            RawNbdClient.Reply read = client.read(PC, 0);

            assertThat(read.error()).isZero();
            assertThat(read.data()).isEmpty();
            assertThat(client.write(PC, new byte[0])).isZero();
            assertThat(client.command(Nbd.CMD_TRIM, PC, 0)).isZero();
            assertThat(client.command(Nbd.CMD_WRITE_ZEROES, SIZE, 0)).isZero();
            assertThat(client.read(0, 4096).error())
                    .as("the connection goes on")
                    .isZero();
        }
        try (RawNbdClient client = RawNbdClient.connect("127.0.0.1", agent.port())) {
            client.structuredReplies();
            assertThat(client.option(Nbd.OPT_GO, "disk-test")).isEqualTo(Nbd.REP_ACK);

            assertThat(client.read(PC, 0).error()).isZero();
            assertThat(client.chunkTypes()).containsExactly(Nbd.REPLY_TYPE_NONE);
        }
    }

    @Test
    void blockStatusComesFromEachPcsNode() throws Exception {
        try (RawNbdClient client = RawNbdClient.connect("127.0.0.1", agent.port())) {
            client.structuredReplies();
            client.metaContext(Nbd.OPT_SET_META_CONTEXT, "disk-test", Nbd.BASE_ALLOCATION);
            assertThat(client.option(Nbd.OPT_GO, "disk-test")).isEqualTo(Nbd.REP_ACK);
            assertThat(client.write(PC + 4096, new byte[4096])).isZero();

            assertThat(client.blockStatus(0, 4 * PC, 0).extents())
                    .as("the first extent ends inside PC 1, so PCs 2 and 3 are not asked")
                    .containsExactly(
                            new Extent(PC + 4096, Nbd.STATE_HOLE | Nbd.STATE_ZERO),
                            new Extent(4096, 0),
                            new Extent(PC - 8192, Nbd.STATE_HOLE | Nbd.STATE_ZERO));
        }
    }

    @Test
    void idleNodeConnectionsAreClosedAndReopenedOnDemand() throws Exception {
        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", agent.port(), "disk-test")) {
            assertThat(client.read(0, 2 * PC).error()).isZero();
            assertThat(channels.openConnections()).isEqualTo(2);

            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (channels.openConnections() > 0 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }

            assertThat(channels.openConnections()).isZero();
            assertThat(client.read(0, 2 * PC).error()).isZero();
        }
    }

    @Test
    void aNodeThatIsGoneFailsTheRequestWithoutHangingTheClient() throws Exception {
        nodes[1].close();
        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", agent.port(), "disk-test")) {
            assertThat(client.read(0, PC).error())
                    .as("PC 0, on the node still up")
                    .isZero();

            assertThat(client.read(PC, PC).error()).isEqualTo(Nbd.EIO);
        }
    }

    @Test
    void aNodeThatNeverAnswersFailsTheRequestAfterTheNodeTimeout() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
                NodeChannels impatient = new NodeChannels(Duration.ofSeconds(60), Duration.ofMillis(500))) {
            // accepts connections (the kernel does) and never says a word: a hung node
            var attachment = new Attachment(
                    "disk-silent", 7, SIZE, PC, List.of(new NodeExport("127.0.0.1", silent.getLocalPort(), "token/7")));
            var disk = new ProxiedDisk(
                    attachment,
                    new Attachments(URI.create("http://127.0.0.1:9"), "unused"),
                    impatient,
                    Executors.newSingleThreadExecutor());
            NbdServer silentAgent = NbdServer.start(
                    name -> name.equals("disk-silent") ? disk : null,
                    "127.0.0.1",
                    0,
                    NbdServer.Settings.of(1, "agent-silent"));
            try (RawNbdClient client = RawNbdClient.open("127.0.0.1", silentAgent.port(), "disk-silent")) {
                long started = System.nanoTime();

                assertThat(client.write(0, new byte[4096])).isEqualTo(Nbd.EIO);
                assertThat(Duration.ofNanos(System.nanoTime() - started))
                        .as("about the node timeout, then a refresh that cannot reach api-server")
                        .isBetween(Duration.ofMillis(500), Duration.ofMillis(3_000));
            } finally {
                silentAgent.close();
            }
        }
    }

    static byte[] bytes(MemoryDisk disk, long offset, int length) {
        ByteBuf into = Unpooled.buffer(length);
        disk.read(offset, length, into);
        byte[] bytes = new byte[length];
        into.readBytes(bytes);
        return bytes;
    }

    static byte[] slice(byte[] data, int from, int length) {
        return java.util.Arrays.copyOfRange(data, from, from + length);
    }
}
