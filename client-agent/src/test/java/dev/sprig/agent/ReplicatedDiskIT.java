package dev.sprig.agent;

import static dev.sprig.agent.Tools.succeed;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.agent.route.AttachedDisks;
import dev.sprig.agent.route.Attachments;
import dev.sprig.agent.route.NodeChannels;
import dev.sprig.nbd.Nbd;
import dev.sprig.nbd.client.NbdClient;
import dev.sprig.nbd.server.NbdServer;
import dev.sprig.nbd.server.RawNbdClient;
import dev.sprig.node.access.DataAccess;
import dev.sprig.testing.QuickStart;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A disk of three replica sets (columns) of three members each on three storage-node processes,
 * served by the agent (decision 011). A stand-in for api-server ({@link ReplicaSetsApi}) answers the
 * attachment and the drops, with data tokens signed by the nodes' own keys, so that these tests
 * see every drop the agent asks for and control every member; the nodes, the NBD clients and the
 * agent are the real ones ({@link ReplicatedNodesAgentIT} runs the same data path against the real
 * api-server). The agent gives a node {@value #NODE_TIMEOUT_MILLIS} ms to answer and api-server
 * {@value #REPLICA_WAIT_MILLIS} ms to let a member go.
 */
class ReplicatedDiskIT {

    static final int MIB = 1 << 20;
    static final int PC = 4 * MIB;
    static final int COLUMNS = 3;
    /** Two PCs per column. */
    static final int SIZE = 2 * COLUMNS * PC;

    static final long NODE_TIMEOUT_MILLIS = 2_000;
    static final long REPLICA_WAIT_MILLIS = 3_000;

    static final Pattern READS = Pattern.compile("(?m)^sprig_node_io_seconds_count\\{[^}]*op=\"read\"[^}]*\\} (\\S+)$");

    static Path dir;
    static StorageNodes nodes;
    static int disks;
    ReplicaSetsApi api;
    NodeChannels channels;
    AttachedDisks attached;
    NbdServer agent;
    String disk;
    long lc;
    final List<Integer> stopped = new ArrayList<>();

    @BeforeAll
    static void startNodes() throws Exception {
        dir = ApiServerProcess.fresh("replicated");
        nodes = new StorageNodes(3, dir);
    }

    @AfterAll
    static void stopNodes() {
        if (nodes != null) {
            nodes.close();
        }
    }

    /** A disk of its own on the nodes, each started again if an earlier test killed it. */
    @BeforeEach
    void start() throws Exception {
        for (int node = 0; node < nodes.count(); node++) {
            nodes.restartIfDead(node);
        }
        disk = "disk-replicated-" + ++disks;
        lc = 100 + disks;
        nodes.define(lc, SIZE);
        api = new ReplicaSetsApi(nodes, disk, lc, SIZE, COLUMNS, 2);
        channels = new NodeChannels(Duration.ofSeconds(60), Duration.ofMillis(NODE_TIMEOUT_MILLIS));
        attached =
                new AttachedDisks(new Attachments(api.uri(), "key"), channels, Duration.ofMillis(REPLICA_WAIT_MILLIS));
        agent = NbdServer.start(attached, "127.0.0.1", 0, NbdServer.Settings.of(4, "agent-worker"));
        // a node's first NBD connection loads half its classes: that must not count against the node timeout
        for (int node = 0; node < 3; node++) {
            copyOn(node, 0); // every node is a member of every column here
        }
    }

    @AfterEach
    void stop() throws Exception {
        for (int node : stopped) {
            signal("CONT", node);
        }
        if (agent != null) {
            agent.close();
        }
        if (attached != null) {
            attached.close();
        }
        if (channels != null) {
            channels.close();
        }
        if (api != null) {
            api.close();
        }
    }

    @Test
    void aWriteThroughTheAgentLandsOnEveryMemberOfItsColumn() throws Exception {
        byte[] data = random(SIZE, 1);

        writeThroughAgent(data);

        for (int column = 0; column < COLUMNS; column++) {
            for (int position = 0; position < 3; position++) {
                int node = api.member(column, position);
                assertThat(copyOn(node, column))
                        .as("column %d on %s", column, nodes.id(node))
                        .isEqualTo(columnOf(data, column));
            }
        }
        assertThat(api.drops).as("no member failed").isEmpty();
    }

    @Test
    void aStoppedMemberHoldsEachWriteForAboutTheNodeTimeoutThenWritesGoOn() throws Exception {
        // connections to every node first, so that the stop catches them open
        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", agent.port(), disk)) {
            assertThat(client.write(0, random(64 << 10, 2))).isZero();
        }
        signal("STOP", 2);
        byte[] data = random(64 << 10, 3);
        long slowest = 0;
        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", agent.port(), disk)) {
            for (int pc = 0; pc < 2 * COLUMNS; pc++) {
                long started = System.nanoTime();
                assertThat(client.write((long) pc * PC, data))
                        .as("write to PC %d", pc)
                        .isZero();
                slowest = Math.max(slowest, System.nanoTime() - started);
            }
            assertThat(client.command(Nbd.CMD_FLUSH, 0, 0)).as("flush").isZero();
        }

        assertThat(Duration.ofNanos(slowest))
                .as("the longest stall")
                .isLessThan(Duration.ofMillis(NODE_TIMEOUT_MILLIS + 1_500));
        for (int column = 0; column < COLUMNS; column++) {
            assertThat(api.inSync(column, 2))
                    .as("the stopped node in column %d", column)
                    .isFalse();
            for (int node : List.of(0, 1)) {
                assertThat(Arrays.copyOf(copyOn(node, column), data.length))
                        .as("column %d on %s", column, nodes.id(node))
                        .isEqualTo(data);
            }
        }
    }

    @Test
    void sprigAgentServeGivesAStoppedMemberUpAfterItsNodeTimeoutAndWritesTheOthers() throws Exception {
        int port = ApiServerProcess.freePort();
        List<String> command = QuickStart.plainJar(CliIT.JAR);
        command.addAll(List.of(
                "serve",
                "--listen",
                "127.0.0.1:" + port,
                "--node-timeout",
                "1",
                "--replica-wait",
                "3",
                "--api",
                api.uri().toString(),
                "--api-key",
                "key"));
        Process serve = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve(disk + "-serve.log").toFile())
                .start();
        try {
            String uri = "nbd://127.0.0.1:" + port + "/" + disk;
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (Tools.run("nbdinfo", "--size", uri).exitCode() != 0 && System.nanoTime() < deadline) {
                Thread.sleep(200); // the JVM is still starting
            }
            // every member's connection opened, and the agent's JVM past its first requests
            succeed("qemu-io", "-f", "raw", "-c", "write -P 0x11 0 " + SIZE, uri);
            signal("STOP", 2);
            byte[] data = random(SIZE, 7);
            Path file = dir.resolve(disk + "-data.raw");
            Files.write(file, data);

            long started = System.nanoTime();
            succeed("qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", file.toString(), uri);
            Duration took = Duration.ofNanos(System.nanoTime() - started);

            assertThat(took)
                    .as("a 1 s node timeout, not the default 5 s, held the writes to the stopped member")
                    .isLessThan(Duration.ofMillis(4_500));
            for (int column = 0; column < COLUMNS; column++) {
                assertThat(api.inSync(column, 2))
                        .as("the stopped node in column %d", column)
                        .isFalse();
                for (int node : List.of(0, 1)) {
                    assertThat(copyOn(node, column))
                            .as("column %d on %s", column, nodes.id(node))
                            .isEqualTo(columnOf(data, column));
                }
            }
        } finally {
            serve.destroy();
            serve.waitFor();
        }
    }

    @Test
    void withTwoOfThreeMembersDeadWritesFailWithinTheReplicaWaitAndNothingAfterIsAcknowledged() throws Exception {
        byte[] before = random(64 << 10, 4);
        byte[] after = random(64 << 10, 5);
        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", agent.port(), disk)) {
            assertThat(client.write(0, before)).isZero();
            nodes.process(1).destroyForcibly().waitFor();
            nodes.process(2).destroyForcibly().waitFor();

            long started = System.nanoTime();
            int first = client.write(0, after);
            Duration took = Duration.ofNanos(System.nanoTime() - started);

            assertThat(first).as("the first write after the failures").isEqualTo(Nbd.EIO);
            assertThat(took)
                    .as("it kept asking api-server to drop the second member for the replica wait, and no longer")
                    .isBetween(
                            Duration.ofMillis(REPLICA_WAIT_MILLIS - 500),
                            Duration.ofMillis(REPLICA_WAIT_MILLIS + NODE_TIMEOUT_MILLIS + 2_000));
            assertThat(client.write(3L * PC, after))
                    .as("a later write to the column")
                    .isEqualTo(Nbd.EIO);
            assertThat(client.command(Nbd.CMD_FLUSH, 0, 0)).as("a flush").isEqualTo(Nbd.EIO);
        }
        assertThat(api.drops).anySatisfy(drop -> assertThat(drop.status()).isEqualTo(503));
        assertThat(api.drops)
                .filteredOn(drop -> drop.status() == 200)
                .allSatisfy(drop -> assertThat(drop.nodeId()).isIn(nodes.id(1), nodes.id(2)));
        assertThat(api.inSync(0, 0)).as("the live member stays in sync").isTrue();
        assertThat(Arrays.copyOf(copyOn(0, 0), before.length))
                .as("the write acknowledged before the failures is on the live member")
                .satisfiesAnyOf(
                        bytes -> assertThat(bytes).isEqualTo(before),
                        // the failed write may or may not have reached it: it was never acknowledged
                        bytes -> assertThat(bytes).isEqualTo(after));
    }

    @Test
    void readsFallBackToAnotherMemberWhenThePreferredOneIsKilled() throws Exception {
        byte[] data = random(SIZE, 6);
        writeThroughAgent(data);
        assertThat(api.member(0, 0))
                .as("column 0 prefers its member at position 0")
                .isZero();

        nodes.process(0).destroyForcibly().waitFor();

        Path copy = dir.resolve(disk + "-copy.raw");
        succeed("qemu-img", "convert", "-f", "raw", "-O", "raw", nbd(), copy.toString());
        assertThat(Files.readAllBytes(copy)).isEqualTo(data);
        assertThat(api.drops).as("reads drop nobody").isEmpty();
    }

    @Test
    void aRebuildingMemberTakesEveryWriteButServesNoReadNorBlockStatus() throws Exception {
        api.rebuilding(2);
        byte[] data = random(SIZE, 8);

        writeThroughAgent(data);

        for (int column = 0; column < COLUMNS; column++) {
            for (int node = 0; node < 3; node++) {
                assertThat(copyOn(node, column))
                        .as("column %d on %s (%s)", column, nodes.id(node), api.state(column, node))
                        .isEqualTo(columnOf(data, column));
            }
        }
        double[] before = {reads(0), reads(1), reads(2)};
        try (RawNbdClient client = RawNbdClient.connect("127.0.0.1", agent.port())) {
            client.structuredReplies();
            client.metaContext(Nbd.OPT_SET_META_CONTEXT, disk, Nbd.BASE_ALLOCATION);
            assertThat(client.option(Nbd.OPT_GO, disk)).isEqualTo(Nbd.REP_ACK);
            for (int pc = 0; pc < 2 * COLUMNS; pc++) {
                assertThat(client.read((long) pc * PC, PC).data())
                        .as("PC %d read through the agent", pc)
                        .isEqualTo(Arrays.copyOfRange(data, pc * PC, (pc + 1) * PC));
                assertThat(client.blockStatus((long) pc * PC, PC, 0).error())
                        .as("block status of PC %d", pc)
                        .isZero();
            }
        }

        assertThat(reads(2)).as("reads served by the rebuilding node").isEqualTo(before[2]);
        assertThat(reads(0) - before[0] + reads(1) - before[1])
                .as("reads served by the in-sync nodes")
                .isGreaterThanOrEqualTo(2 * COLUMNS);
        assertThat(api.drops).as("no member failed").isEmpty();
    }

    @Test
    void aStoppedRebuildingMemberSlowsNoReadNorBlockStatusButAWriteDropsIt() throws Exception {
        api.rebuilding(2);
        byte[] data = random(64 << 10, 9);
        try (RawNbdClient client = RawNbdClient.connect("127.0.0.1", agent.port())) {
            client.structuredReplies();
            client.metaContext(Nbd.OPT_SET_META_CONTEXT, disk, Nbd.BASE_ALLOCATION);
            assertThat(client.option(Nbd.OPT_GO, disk)).isEqualTo(Nbd.REP_ACK);
            // connections to every node first, so that the stop catches them open
            for (int pc = 0; pc < COLUMNS; pc++) {
                assertThat(client.write((long) pc * PC, data)).isZero();
            }
            signal("STOP", 2);

            long started = System.nanoTime();
            for (int pc = 0; pc < 2 * COLUMNS; pc++) {
                assertThat(client.read((long) pc * PC, 64 << 10).error()).isZero();
                assertThat(client.blockStatus((long) pc * PC, PC, 0).error()).isZero();
            }
            Duration reading = Duration.ofNanos(System.nanoTime() - started);
            assertThat(reading)
                    .as("reads and block status of every PC with the rebuilding node stopped")
                    .isLessThan(Duration.ofMillis(NODE_TIMEOUT_MILLIS));
            assertThat(api.drops).as("reads drop nobody").isEmpty();

            started = System.nanoTime();
            assertThat(client.write(0, data)).as("a write to column 0").isZero();
            assertThat(Duration.ofNanos(System.nanoTime() - started))
                    .as("held for about the node timeout, then the rebuilding member was dropped")
                    .isBetween(
                            Duration.ofMillis(NODE_TIMEOUT_MILLIS - 500),
                            Duration.ofMillis(NODE_TIMEOUT_MILLIS + 2_000));
        }
        assertThat(api.state(0, 2)).isEqualTo("stale");
        assertThat(api.drops).containsExactly(new ReplicaSetsApi.Drop(0, nodes.id(2), 1, 200));
    }

    @Test
    void aKilledRebuildingMemberIsDroppedAndWritesGoOnWithJustMinInSyncMembersInSync() throws Exception {
        api.rebuilding(2); // so each column has two in-sync members: min-in-sync
        byte[] data = random(64 << 10, 10);
        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", agent.port(), disk)) {
            for (int pc = 0; pc < COLUMNS; pc++) {
                assertThat(client.write((long) pc * PC, data)).isZero();
            }
            nodes.process(2).destroyForcibly().waitFor();

            for (int pc = 0; pc < 2 * COLUMNS; pc++) {
                assertThat(client.write((long) pc * PC, data))
                        .as("write to PC %d", pc)
                        .isZero();
            }
            assertThat(client.command(Nbd.CMD_WRITE_ZEROES, PC / 2, 4096))
                    .as("zeroing")
                    .isZero();
            assertThat(client.command(Nbd.CMD_FLUSH, 0, 0)).as("flush").isZero();
        }

        assertThat(api.drops)
                .as("nothing refused")
                .allSatisfy(drop -> assertThat(drop.status()).isEqualTo(200));
        assertThat(api.drops).allSatisfy(drop -> assertThat(drop.nodeId()).isEqualTo(nodes.id(2)));
        for (int column = 0; column < COLUMNS; column++) {
            assertThat(api.state(column, 2))
                    .as("the killed node in column %d", column)
                    .isEqualTo("stale");
            for (int node : List.of(0, 1)) {
                assertThat(api.inSync(column, node)).isTrue();
                assertThat(Arrays.copyOf(copyOn(node, column), data.length))
                        .as("column %d on %s", column, nodes.id(node))
                        .isEqualTo(data);
            }
        }
    }

    /** How many reads {@code node} has served, from its {@code /actuator/prometheus}. */
    private static double reads(int node) throws Exception {
        HttpResponse<String> metrics = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(nodes.http(node).resolve("/actuator/prometheus"))
                                .header("Authorization", "Bearer " + nodes.token(node))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        Matcher count = READS.matcher(metrics.body());
        assertThat(count.find())
                .as("sprig_node_io_seconds_count{op=\"read\"} of %s", nodes.id(node))
                .isTrue();
        return Double.parseDouble(count.group(1));
    }

    private String nbd() {
        return "nbd://127.0.0.1:" + agent.port() + "/" + disk;
    }

    private void writeThroughAgent(byte[] data) throws Exception {
        Path file = dir.resolve(disk + "-data.raw");
        Files.write(file, data);
        succeed("qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", file.toString(), nbd());
    }

    /** The PCs of {@code column} as {@code node} holds them, read with a token of its own. */
    private byte[] copyOn(int node, int column) throws Exception {
        byte[] copy = new byte[SIZE / COLUMNS];
        String export = api.token(column, node, DataAccess.READ) + "/" + lc;
        try (NbdClient client = NbdClient.open("127.0.0.1", nodes.nbdPort(node), export)) {
            for (int pc = column, at = 0; pc * (long) PC < SIZE; pc += COLUMNS, at += PC) {
                ByteBuf into = Unpooled.buffer(PC);
                assertThat(client.read((long) pc * PC, PC, into))
                        .as("reading PC %d", pc)
                        .isZero();
                into.readBytes(copy, at, PC);
                into.release();
            }
        }
        return copy;
    }

    private static byte[] columnOf(byte[] data, int column) {
        byte[] bytes = new byte[SIZE / COLUMNS];
        for (int pc = column, at = 0; pc * (long) PC < SIZE; pc += COLUMNS, at += PC) {
            System.arraycopy(data, pc * PC, bytes, at, PC);
        }
        return bytes;
    }

    private void signal(String signal, int node) throws Exception {
        succeed("kill", "-" + signal, String.valueOf(nodes.process(node).pid()));
        if (signal.equals("STOP")) {
            stopped.add(node);
        }
    }

    private static byte[] random(int length, long seed) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }
}
