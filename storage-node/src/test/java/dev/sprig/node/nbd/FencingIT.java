package dev.sprig.node.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.nbd.Nbd;
import dev.sprig.nbd.client.ExportRefusedException;
import dev.sprig.nbd.client.NbdClient;
import dev.sprig.node.NodeTestDirs;
import dev.sprig.node.access.DataAccess;
import dev.sprig.node.access.DataGrant;
import dev.sprig.node.access.DataTokens;
import dev.sprig.node.access.ReplicaEpoch;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Fencing on a real storage-node process (decision 011), driven by real NBD clients: a data token
 * carries its replica set and epoch; once api-server raises the set's fence past that epoch the
 * node refuses the token, on new connections and on the next request of open ones, and the fence
 * outlives a killed node. A token is good for its own stripe column's PCs only.
 */
class FencingIT {

    static final String TOKEN = "fencing-node-token-0123456789";
    static final long MIB = 1 << 20;
    static final long PC = ChunkEngine.PC_SIZE;
    static final AtomicLong IDS = new AtomicLong(500);
    static final DataTokens SIGNER = DataTokens.forNodeToken(TOKEN);
    static final Pattern FENCED = Pattern.compile("(?m)^sprig_node_fenced_requests_total(\\{[^}]*\\})? (\\S+)$");

    static NodeProcess node;

    @BeforeAll
    static void start() {
        Path dir = NodeTestDirs.fresh("fencing");
        node = new NodeProcess(TOKEN, dir.resolve("data"), dir.resolve("node.log"));
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    @Test
    void aTokenAtTheSetsEpochWritesAndReadsWhileNoFenceIsPastIt() {
        long lc = lc();
        long family = IDS.incrementAndGet();
        String uri = node.nbdUri(name(lc, new ReplicaEpoch(family, 0, 1, 1), DataAccess.READ_WRITE));

        Tool.run("qemu-io", "-f", "raw", "-c", "write -P 0x11 0 64k", "-c", "flush", uri)
                .succeeded();
        raise(family, 0, 1);

        assertThat(Tool.run("qemu-io", "-f", "raw", "-r", "-c", "read -P 0x11 0 64k", uri)
                        .succeeded()
                        .output())
                .doesNotContain("Pattern verification failed");
    }

    @Test
    void aRaisedFenceRefusesTheOldEpochOnNewConnectionsAndOnTheNextRequestOfOpenOnes() throws Exception {
        long lc = lc();
        long family = IDS.incrementAndGet();
        String epoch1 = name(lc, new ReplicaEpoch(family, 0, 1, 1), DataAccess.READ_WRITE);
        String epoch2 = name(lc, new ReplicaEpoch(family, 0, 1, 2), DataAccess.READ_WRITE);
        double fencedBefore = fencedRequests();

        try (NbdClient open = NbdClient.open("127.0.0.1", node.nbdPort(), epoch1)) {
            assertThat(write(open, 0, 4096, 0x21)).isZero();

            HttpResponse<String> fenced = node.put("/v1/fences/" + family + "/0", "{\"epoch\":2}");
            assertThat(fenced.statusCode()).as(fenced.body()).isEqualTo(200);

            assertThat(write(open, 4096, 4096, 0x22)).as("write").isEqualTo(Nbd.EPERM);
            assertThat(open.read(0, 4096, Unpooled.buffer())).as("read").isEqualTo(Nbd.EPERM);
            assertThat(open.writeZeroes(0, 4096, false)).as("write zeroes").isEqualTo(Nbd.EPERM);
            assertThat(open.trim(0, 4096, false)).as("trim").isEqualTo(Nbd.EPERM);
            assertThat(open.flush()).as("flush").isEqualTo(Nbd.EPERM);
            assertThat(open.allocation(0, 4096, new dev.sprig.nbd.server.Extents()))
                    .as("block status")
                    .isEqualTo(Nbd.EPERM);
        }

        assertThatThrownBy(() -> NbdClient.open("127.0.0.1", node.nbdPort(), epoch1))
                .isInstanceOf(ExportRefusedException.class);
        assertThat(Tool.run("nbdinfo", "--size", node.nbdUri(epoch1)).exitCode())
                .isNotZero();
        Tool write = Tool.run("qemu-io", "-f", "raw", "-c", "write -P 0x23 0 4k", node.nbdUri(epoch1));
        assertThat(write.exitCode()).as(write.output()).isNotZero();
        assertThat(write.output()).doesNotContain("wrote");

        Tool.run("qemu-io", "-f", "raw", "-c", "write -P 0x24 8k 4k", "-c", "flush", node.nbdUri(epoch2))
                .succeeded();
        Tool read = Tool.run(
                        "qemu-io",
                        "-f",
                        "raw",
                        "-r",
                        "-c",
                        "read -P 0x21 0 4k",
                        "-c",
                        "read -P 0 4k 4k",
                        "-c",
                        "read -P 0x24 8k 4k",
                        node.nbdUri(epoch2))
                .succeeded();
        assertThat(read.output())
                .as("the fenced connection's write changed nothing")
                .doesNotContain("Pattern verification failed");
        assertThat(fencedRequests())
                .as("six refused requests and at least two refused opens")
                .isGreaterThanOrEqualTo(fencedBefore + 8);
    }

    @Test
    void aFencedTokenReadsNothingEvenWithReadAccess() {
        long lc = lc();
        long family = IDS.incrementAndGet();
        String epoch1 = node.nbdUri(name(lc, new ReplicaEpoch(family, 0, 1, 1), DataAccess.READ));
        assertThat(Tool.run("qemu-io", "-f", "raw", "-r", "-c", "read 0 4k", epoch1)
                        .exitCode())
                .isZero();

        raise(family, 0, 2);

        Tool read = Tool.run("qemu-io", "-f", "raw", "-r", "-c", "read 0 4k", epoch1);
        assertThat(read.exitCode()).as(read.output()).isNotZero();
        assertThat(read.output()).doesNotContain("read 4096/4096 bytes");
        assertThat(Tool.run("nbdinfo", "--size", epoch1).exitCode()).isNotZero();
    }

    @Test
    void aFenceOfOneSetLeavesOtherSetsAndUnreplicatedTokensAlone() {
        long lc = lc();
        long family = IDS.incrementAndGet();
        raise(family, 0, 5);

        String otherColumn = node.nbdUri(name(lc, new ReplicaEpoch(family, 1, 2, 1), DataAccess.READ_WRITE));
        String unreplicated = node.nbdUri(ExportName.of(TOKEN, lc));

        Tool.run("qemu-io", "-f", "raw", "-c", "write -P 0x31 4M 4k", otherColumn)
                .succeeded();
        Tool.run("qemu-io", "-f", "raw", "-c", "write -P 0x32 0 4k", "-c", "read -P 0x31 4M 4k", unreplicated)
                .succeeded();
    }

    @Test
    void aTokenForOneColumnTouchesNoPcOfAnother() throws Exception {
        long lc = lc();
        long family = IDS.incrementAndGet();
        String column0 = name(lc, new ReplicaEpoch(family, 0, 3, 1), DataAccess.READ_WRITE);

        Tool elsewhere = Tool.run("qemu-io", "-f", "raw", "-c", "write -P 0x41 4M 4k", node.nbdUri(column0));
        assertThat(elsewhere.output()).contains("Invalid argument");
        Tool.run("qemu-io", "-f", "raw", "-c", "write -P 0x42 0 4k", "-c", "write -P 0x43 12M 4k", node.nbdUri(column0))
                .succeeded();

        try (NbdClient client = NbdClient.open("127.0.0.1", node.nbdPort(), column0)) {
            assertThat(write(client, PC - 4096, 8192, 0x44))
                    .as("across PCs 0 and 1")
                    .isEqualTo(Nbd.EINVAL);
            assertThat(write(client, 2 * PC, 4096, 0x44)).as("PC 2").isEqualTo(Nbd.EINVAL);
            assertThat(client.read(PC, 4096, Unpooled.buffer()))
                    .as("read of PC 1")
                    .isEqualTo(Nbd.EINVAL);
            assertThat(client.writeZeroes(PC, PC, false)).isEqualTo(Nbd.EINVAL);
            assertThat(client.trim(0, 2 * PC, false)).isEqualTo(Nbd.EINVAL);
            assertThat(client.read(3 * PC, 4096, Unpooled.buffer()))
                    .as("PC 3 is column 0")
                    .isZero();
            assertThat(client.flush()).isZero();
            var extents = new dev.sprig.nbd.server.Extents();
            assertThat(client.allocation(0, 16 * MIB, extents)).isZero();
            assertThat(extents.covered()).as("described up to the end of PC 0").isEqualTo(PC);
        }

        String column1 = name(lc, new ReplicaEpoch(family, 1, 3, 1), DataAccess.READ);
        Tool.run("qemu-io", "-f", "raw", "-r", "-c", "read -P 0 4M 4k", node.nbdUri(column1))
                .succeeded();
    }

    @Test
    void aFenceSurvivesAKilledAndRestartedNode() {
        long lc = lc();
        long family = IDS.incrementAndGet();
        String epoch2 = name(lc, new ReplicaEpoch(family, 1, 2, 2), DataAccess.READ_WRITE);
        String epoch3 = name(lc, new ReplicaEpoch(family, 1, 2, 3), DataAccess.READ_WRITE);
        raise(family, 1, 3);

        node.kill();
        node.start();

        assertThat(node.get("/v1/fences").body()).contains("{\"familyId\":" + family + ",\"column\":1,\"epoch\":3}");
        assertThat(Tool.run("nbdinfo", "--size", node.nbdUri(epoch2)).exitCode())
                .isNotZero();
        Tool.run("qemu-io", "-f", "raw", "-c", "write -P 0x51 4M 4k", node.nbdUri(epoch3))
                .succeeded();
        HttpResponse<String> lower = node.put("/v1/fences/" + family + "/1", "{\"epoch\":2}");
        assertThat(lower.body()).contains("\"epoch\":3");
    }

    @Test
    void aNodeWhoseFencesFileIsDamagedDoesNotStartAndSaysWhy() throws Exception {
        Path dir = NodeTestDirs.fresh("fencing-damaged");
        Files.createDirectories(dir.resolve("data"));
        Files.writeString(dir.resolve("data").resolve("fences"), "sprig-fences 1\n3 0 2\nend 1 00000000\n");

        NodeProcess started = null;
        try {
            started = new NodeProcess(TOKEN, dir.resolve("data"), dir.resolve("node.log"));
        } catch (IllegalStateException refused) {
            assertThat(refused).hasMessageContaining("exited");
        } finally {
            if (started != null) {
                started.close();
            }
        }

        assertThat(started).as("a node that started on a damaged fences file").isNull();
        assertThat(Files.readString(dir.resolve("node.log")))
                .contains("APPLICATION FAILED TO START")
                .contains("the fences file " + dir.resolve("data").resolve("fences") + " is damaged")
                .contains("Restore " + dir.resolve("data").resolve("fences") + " from a backup");
    }

    @Test
    void refusedRequestsShowOnPrometheus() {
        long lc = lc();
        long family = IDS.incrementAndGet();
        double before = fencedRequests();
        raise(family, 0, 2);

        Tool.run("nbdinfo", "--size", node.nbdUri(name(lc, new ReplicaEpoch(family, 0, 1, 1), DataAccess.READ)));

        assertThat(fencedRequests()).isGreaterThan(before);
    }

    private static long lc() {
        long lc = IDS.incrementAndGet();
        HttpResponse<String> defined = node.post(
                "/v1/lcs:batchDefine",
                "{\"lcs\":[{\"lcId\":" + lc + ",\"sizeBytes\":" + 16 * MIB + ",\"frozen\":false}]}");
        assertThat(defined.statusCode()).as(defined.body()).isEqualTo(200);
        return lc;
    }

    private static String name(long lc, ReplicaEpoch replica, DataAccess access) {
        return SIGNER.sign(new DataGrant(lc, access, Instant.now().plusSeconds(3600), replica)) + "/" + lc;
    }

    private static void raise(long family, int column, long epoch) {
        HttpResponse<String> raised = node.put("/v1/fences/" + family + "/" + column, "{\"epoch\":" + epoch + "}");
        assertThat(raised.statusCode()).as(raised.body()).isEqualTo(200);
    }

    private static int write(NbdClient client, long offset, int length, int value) throws Exception {
        ByteBuf data = Unpooled.buffer(length);
        for (int i = 0; i < length; i++) {
            data.writeByte(value);
        }
        try {
            return client.write(offset, data, 0, length, false);
        } finally {
            data.release();
        }
    }

    private static double fencedRequests() {
        String metrics = node.get("/actuator/prometheus").body();
        Matcher counter = FENCED.matcher(metrics);
        assertThat(counter.find())
                .as("sprig_node_fenced_requests_total on /actuator/prometheus")
                .isTrue();
        return Double.parseDouble(counter.group(2));
    }
}
