package dev.sprig.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sprig.agent.route.AttachedDisks;
import dev.sprig.agent.route.Attachments;
import dev.sprig.agent.route.NodeChannels;
import dev.sprig.client.ApiException;
import dev.sprig.client.AttachmentView;
import dev.sprig.client.ReplicaColumnView;
import dev.sprig.client.ReplicaMemberView;
import dev.sprig.nbd.server.NbdServer;
import dev.sprig.nbd.server.RawNbdClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The agent on disks with three copies of every PC, every part real: api-server on the nodes
 * backend, four storage-node processes that register themselves and heartbeat, and NBD clients
 * (decision 011). A node killed under a writing client costs no I/O error; a node that comes back is
 * stale and opens nothing for the tokens it held; api-server killed in the middle of dropping a
 * member leaves the nodes' fences where its database says, once it is back; a VM boots from a
 * three-copy clone, and what it wrote reads back with one of its member nodes dead.
 */
class ReplicatedNodesAgentIT {

    static final int MIB = 1 << 20;
    /** Six PCs of 4 MiB: two in each of three columns. */
    static final byte[] IMAGE = AgentServeIT.imageContent(24 * MIB);

    static final Duration NODE_TIMEOUT = Duration.ofSeconds(2);
    static final Duration REPLICA_WAIT = Duration.ofSeconds(5);

    static Path dir;
    static ApiServerProcess apiServer;
    static StorageNodes nodes;
    NodeChannels channels;
    AttachedDisks attached;
    NbdServer agent;

    @BeforeAll
    static void start() throws Exception {
        dir = ApiServerProcess.fresh("agent-replicated-nodes");
        apiServer = ApiServerProcess.start(
                "agent-replicated",
                "--sprig.api.backend.type=nodes",
                // a slow first call on a loaded machine must not drop a member under the test
                "--sprig.api.backend.nodes.call-timeout=3s",
                "--sprig.api.reconcile-interval=2s",
                // these tests look at a member that stays stale after its node comes back; with
                // recovery on it would be caught up (decision 012), which CatchUpIT covers
                "--sprig.api.recovery.enabled=false");
        nodes = new StorageNodes(4, dir, apiServer);
        awaitNodesUp(4);
    }

    @AfterAll
    static void stop() throws Exception {
        if (nodes != null) {
            nodes.close();
        }
        if (apiServer != null) {
            apiServer.close();
        }
    }

    /** Each test its own image, so its own family and replica sets, healthy whatever the others did. */
    @BeforeEach
    void startAgent() throws Exception {
        for (int node = 0; node < nodes.count(); node++) {
            nodes.restartIfDead(node);
        }
        awaitNodesUp(4);
        channels = new NodeChannels(Duration.ofSeconds(60), NODE_TIMEOUT);
        attached = new AttachedDisks(new Attachments(apiServer.uri(), ApiServerProcess.KEY), channels, REPLICA_WAIT);
        agent = NbdServer.start(attached, "127.0.0.1", 0, NbdServer.Settings.of(4, "agent-worker"));
    }

    @AfterEach
    void stopAgent() throws Exception {
        for (int node = 0; node < nodes.count(); node++) {
            Tools.run("kill", "-CONT", String.valueOf(nodes.process(node).pid()));
        }
        agent.close();
        attached.close();
        channels.close();
    }

    @Test
    void fioVerifiesThroughAMemberKilledUnderItAndTheNodeComesBackStaleOpeningNothingForItsOldTokens()
            throws Exception {
        SprigApi api = api();
        String disk = api.clone(api.image(IMAGE));
        AttachmentView before = api.attachment(disk);
        assertThat(before.redundancy()).isEqualTo("healthy");
        String victim = before.columns().get(0).members().get(0).nodeId();
        int killed = indexOf(victim);

        Path output = dir.resolve(disk + "-fio.log");
        Process fio = new ProcessBuilder(
                        "fio",
                        "--name=replicated",
                        "--ioengine=nbd",
                        "--uri=" + nbd(disk),
                        "--rw=randwrite",
                        "--bs=64k",
                        "--size=" + IMAGE.length,
                        "--iodepth=8",
                        "--rate=8m", // about three seconds of writes: the kill comes in the middle
                        "--verify=crc32c",
                        "--do_verify=1")
                .redirectErrorStream(true)
                .redirectOutput(output.toFile())
                .start();
        Thread.sleep(1_000); // not an assertion's wait: the kill must fall among the writes
        assertThat(fio.isAlive()).as("fio is still writing").isTrue();
        nodes.process(killed).destroyForcibly().waitFor();

        assertThat(fio.waitFor(120, TimeUnit.SECONDS)).as("fio finished").isTrue();
        String log = Files.readString(output);
        assertThat(fio.exitValue()).as(log).isZero();
        assertThat(log).contains("err= 0").doesNotContain("verify:");

        AttachmentView after = api.attachment(disk);
        assertThat(after.redundancy()).isEqualTo("degraded");
        for (ReplicaColumnView column : after.columns()) {
            for (ReplicaMemberView member : column.members()) {
                if (member.nodeId().equals(victim)) {
                    assertThat(member.state())
                            .as("%s in column %d", victim, column.column())
                            .isEqualTo("stale");
                    assertThat(member.nbd()).isNull();
                }
            }
        }

        nodes.restartIfDead(killed);
        Map<Integer, Long> epochs = epochsOfColumnsWith(after, victim);
        awaitFences(killed, epochs, Duration.ofSeconds(60));
        for (String uri : urisOf(before, victim)) {
            assertThat(Tools.run("nbdinfo", "--size", uri).exitCode())
                    .as("the old token of the stale member opens nothing: %s", uri)
                    .isNotZero();
        }
        assertThat(urisOf(api.attachment(disk), victim))
                .as("no new attachment sends anyone to the stale member")
                .isEmpty();
    }

    @Test
    void aThreeCopyDiskGrowsOnEveryMemberAndIsNotResizedWhileACopyIsStale() throws Exception {
        SprigApi api = api();
        String disk = api.clone(api.image(IMAGE));

        assertThat(api.resize(disk, 36L * MIB)).isEqualTo(36L * MIB);

        assertThat(Tools.succeed("nbdinfo", "--size", nbd(disk)).strip()).isEqualTo(String.valueOf(36L * MIB));
        // every member takes the writes past the old end: one that had not grown would be dropped
        Tools.succeed(
                "fio",
                "--name=grown",
                "--ioengine=nbd",
                "--uri=" + nbd(disk),
                "--rw=randwrite",
                "--bs=64k",
                "--offset=" + 24 * MIB,
                "--size=" + 12 * MIB,
                "--iodepth=8",
                "--verify=crc32c",
                "--do_verify=1");
        assertThat(api.attachment(disk).redundancy()).isEqualTo("healthy");

        String victim = api.attachment(disk).columns().get(0).members().get(0).nodeId();
        nodes.process(indexOf(victim)).destroyForcibly().waitFor();
        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", agent.port(), disk)) {
            assertThat(client.write(0, random(64 << 10, 3))).isZero(); // PC 0, column 0: the victim is dropped
        }
        awaitTrue(() -> stateOf(api, disk, 0, victim).equals("stale"), Duration.ofSeconds(30), victim + " dropped");

        assertThatThrownBy(() -> api.resize(disk, 48L * MIB))
                .hasCauseInstanceOf(ApiException.class)
                .hasMessageContaining("409")
                .hasMessageContaining("not all in sync");
        assertThat(api.attachment(disk).sizeBytes()).isEqualTo(36L * MIB);
    }

    @Test
    void aThreeCopyDiskRevertedToItsSnapshotReadsAsItOnEveryMember() throws Exception {
        SprigApi api = api();
        String disk = api.clone(api.image(IMAGE));
        String[] beforeSnapshot = fioJob("before-snapshot", disk, 1);
        Tools.succeed(beforeSnapshot);
        String snapshot = api.snapshot(disk);
        Tools.succeed(fioJob("after-snapshot", disk, 2));
        long written = api.readOnlyAttachment(disk).lcId();

        long reverted = api.revertOnceDetached(disk, snapshot).lcId();

        assertThat(reverted).isNotEqualTo(written);
        String[] verifyOnly = java.util.Arrays.copyOf(beforeSnapshot, beforeSnapshot.length + 1);
        verifyOnly[beforeSnapshot.length] = "--verify_only";
        Tools.succeed(verifyOnly);
        AttachmentView after = api.readOnlyAttachment(disk);
        assertThat(after.lcId()).isEqualTo(reverted);
        assertThat(after.redundancy()).isEqualTo("healthy");
        // the new lc is on every member: each reads its column's PCs as the disk does
        byte[] disk0 = new byte[IMAGE.length];
        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", agent.port(), disk)) {
            for (int pc = 0; pc < IMAGE.length / (4 * MIB); pc++) {
                System.arraycopy(client.read((long) pc * 4 * MIB, 4 * MIB).data(), 0, disk0, pc * 4 * MIB, 4 * MIB);
            }
        }
        int columns = after.columns().size();
        for (int pc = 0; pc < IMAGE.length / (4 * MIB); pc++) {
            byte[] expected = java.util.Arrays.copyOfRange(disk0, pc * 4 * MIB, (pc + 1) * 4 * MIB);
            for (var member : after.columns().get(pc % columns).members()) {
                URI export = URI.create(member.nbd());
                try (RawNbdClient client = RawNbdClient.open(
                        export.getHost(), export.getPort(), export.getPath().substring(1))) {
                    assertThat(client.read((long) pc * 4 * MIB, 4 * MIB).data())
                            .as("PC %d on %s", pc, member.nodeId())
                            .isEqualTo(expected);
                }
            }
        }
    }

    /** A crc32c-verified random write of the whole disk, its data drawn from {@code seed}. */
    private String[] fioJob(String name, String disk, int seed) {
        return new String[] {
            "fio",
            "--name=" + name,
            "--ioengine=nbd",
            "--uri=" + nbd(disk),
            "--rw=randwrite",
            "--bs=64k",
            "--size=" + IMAGE.length,
            "--iodepth=8",
            "--randseed=" + seed,
            "--verify=crc32c",
            "--do_verify=1"
        };
    }

    @Test
    void aVmBootsFromAThreeCopyCloneAndWhatItWroteOutlivesAMemberNode() throws Exception {
        SprigApi api = api();
        Path boot = Vms.bootSet(dir.resolve("boot"), "64M");
        String disk = api.clone(api.image(Files.readAllBytes(boot.resolve("base.raw"))));
        Process vm = Vms.start(boot, "vm-on-nodes", nbd(disk), dir);
        try {
            Vms.awaitBooted(vm, "vm-on-nodes", dir);
        } finally {
            vm.destroyForcibly();
        }
        String victim = api.attachment(disk).columns().get(0).members().get(0).nodeId();

        nodes.process(indexOf(victim)).destroyForcibly().waitFor();

        Path raw = dir.resolve(disk + ".raw");
        Tools.succeed("qemu-img", "convert", "-f", "raw", "-O", "raw", nbd(disk), raw.toString());
        assertThat(Vms.debugfs(raw, "cat /marker").strip()).isEqualTo("vm-on-nodes");
        assertThat(Tools.run("e2fsck", "-fn", raw.toString()).exitCode()).isZero();
    }

    @Test
    void afterApiServerIsKilledWhileItDropsAMemberTheNodesFencesMatchItsDatabaseOnceItIsBack() throws Exception {
        SprigApi api = api();
        String disk = api.clone(api.image(IMAGE));
        AttachmentView before = api.attachment(disk);
        String hung = before.columns().get(1).members().get(0).nodeId();
        int stopped = indexOf(hung);
        byte[] first = random(64 << 10, 1);
        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", agent.port(), disk)) {
            // every member's connection open before the stop, and a write acknowledged by all
            for (int pc = 0; pc < 6; pc++) {
                assertThat(client.write((long) pc * 4 * MIB, first)).isZero();
            }
        }

        Tools.run("kill", "-STOP", String.valueOf(nodes.process(stopped).pid()));
        CompletableFuture<Integer> write = CompletableFuture.supplyAsync(() -> {
            try (RawNbdClient client = RawNbdClient.open("127.0.0.1", agent.port(), disk)) {
                return client.write(4L * MIB, random(64 << 10, 2)); // PC 1: column 1
            } catch (Exception e) {
                return -1;
            }
        });
        // the agent gives the node its timeout, then asks api-server to drop it: api-server is
        // killed as soon as the drop is in its database, whether or not it has raised the fences
        // of the other members yet
        awaitTrue(() -> stateOf(api, disk, 1, hung).equals("stale"), Duration.ofSeconds(30), hung + " dropped");
        apiServer.kill();
        write.get(60, TimeUnit.SECONDS); // acknowledged or not: the agent could not hear api-server's answer
        Tools.run("kill", "-CONT", String.valueOf(nodes.process(stopped).pid()));
        apiServer = apiServer.startAgain();

        AttachmentView now = api.attachment(disk);
        ReplicaColumnView column = now.columns().get(1);
        assertThat(column.epoch())
                .as("the drop was committed")
                .isGreaterThan(before.columns().get(1).epoch());
        for (ReplicaMemberView member : column.members()) {
            if (member.state().equals("in_sync")) {
                awaitFences(indexOf(member.nodeId()), Map.of(1, column.epoch()), Duration.ofSeconds(60));
            }
        }
        try (RawNbdClient client = RawNbdClient.open("127.0.0.1", agent.port(), disk)) {
            for (int pc : new int[] {0, 2, 3, 4, 5}) {
                RawNbdClient.Reply back = client.read((long) pc * 4 * MIB, first.length);
                assertThat(back.error()).isZero();
                assertThat(back.data())
                        .as("PC %d, acknowledged before the stop", pc)
                        .isEqualTo(first);
            }
        }
    }

    private static SprigApi api() {
        return new SprigApi(apiServer.uri(), ApiServerProcess.KEY);
    }

    private String nbd(String disk) {
        return "nbd://127.0.0.1:" + agent.port() + "/" + disk;
    }

    private static int indexOf(String nodeId) {
        for (int node = 0; node < nodes.count(); node++) {
            if (nodes.id(node).equals(nodeId)) {
                return node;
            }
        }
        throw new IllegalArgumentException(nodeId);
    }

    private static String stateOf(SprigApi api, String disk, int column, String nodeId) {
        return api.attachment(disk).columns().get(column).members().stream()
                .filter(member -> member.nodeId().equals(nodeId))
                .findFirst()
                .orElseThrow()
                .state();
    }

    /** The epochs of the columns {@code nodeId} is a member of, by column. */
    private static Map<Integer, Long> epochsOfColumnsWith(AttachmentView attachment, String nodeId) {
        Map<Integer, Long> epochs = new HashMap<>();
        for (ReplicaColumnView column : attachment.columns()) {
            if (column.members().stream().anyMatch(member -> member.nodeId().equals(nodeId))) {
                epochs.put(column.column(), column.epoch());
            }
        }
        return epochs;
    }

    private static List<String> urisOf(AttachmentView attachment, String nodeId) {
        return attachment.columns().stream()
                .flatMap(column -> column.members().stream())
                .filter(member -> member.nodeId().equals(nodeId) && member.nbd() != null)
                .map(ReplicaMemberView::nbd)
                .toList();
    }

    /**
     * Waits until node {@code node} holds, for each column, a fence at the given epoch (this test
     * class places one family, so a column names one replica set).
     */
    private static void awaitFences(int node, Map<Integer, Long> epochs, Duration within) throws Exception {
        awaitTrue(
                () -> {
                    Map<Integer, Long> held = fencesOn(node);
                    return epochs.entrySet().stream()
                            .allMatch(epoch -> epoch.getValue().equals(held.get(epoch.getKey())));
                },
                within,
                "fences " + epochs + " on " + nodes.id(node));
    }

    private static final Pattern FENCE = Pattern.compile("\"column\":(\\d+),\"epoch\":(\\d+)");

    private static Map<Integer, Long> fencesOn(int node) {
        try {
            HttpResponse<String> response = HttpClient.newHttpClient()
                    .send(
                            HttpRequest.newBuilder(nodes.http(node).resolve("/v1/fences"))
                                    .header("Authorization", "Bearer " + nodes.token(node))
                                    .timeout(Duration.ofSeconds(2))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
            Map<Integer, Long> fences = new HashMap<>();
            Matcher fence = FENCE.matcher(response.body().replace(" ", ""));
            while (fence.find()) {
                fences.put(Integer.parseInt(fence.group(1)), Long.parseLong(fence.group(2)));
            }
            return fences;
        } catch (Exception notAnswering) {
            return Map.of();
        }
    }

    private static void awaitNodesUp(int count) throws Exception {
        awaitTrue(
                () -> {
                    try {
                        HttpResponse<String> response = HttpClient.newHttpClient()
                                .send(
                                        HttpRequest.newBuilder(apiServer.uri().resolve("/v1/nodes"))
                                                .header("Authorization", "Bearer " + ApiServerProcess.ADMIN_KEY)
                                                .build(),
                                        HttpResponse.BodyHandlers.ofString());
                        return response.body().split("\"state\":\"up\"", -1).length - 1 >= count;
                    } catch (Exception notYet) {
                        return false;
                    }
                },
                Duration.ofSeconds(60),
                count + " nodes up");
    }

    private static void awaitTrue(Supplier<Boolean> condition, Duration within, String what) throws Exception {
        long deadline = System.nanoTime() + within.toNanos();
        while (!condition.get()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + within + ": " + what);
            }
            Thread.sleep(200);
        }
    }

    private static byte[] random(int length, long seed) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }
}
