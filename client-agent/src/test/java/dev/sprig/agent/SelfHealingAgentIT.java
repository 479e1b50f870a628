package dev.sprig.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.agent.route.AttachedDisks;
import dev.sprig.agent.route.Attachments;
import dev.sprig.agent.route.NodeChannels;
import dev.sprig.client.AttachmentView;
import dev.sprig.client.OperationView;
import dev.sprig.client.ReplicaColumnView;
import dev.sprig.client.ReplicaMemberView;
import dev.sprig.client.Wire;
import dev.sprig.nbd.server.NbdServer;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import tools.jackson.databind.JsonNode;

/**
 * Self-healing (issue 20, decision 012) end to end, through the agent, with fio writing and
 * verifying all along: api-server on the nodes backend with recovery on, four storage-node
 * processes that register and heartbeat, three replicas per column. A member node killed and silent
 * past {@code down-after} is replaced in each of its columns; a drained node's memberships move off
 * it and it is removed; the source of a rebuild killed in its middle does not end the rebuild. fio
 * must see no I/O error and no verify mismatch before, during and after each, and the members of
 * each column must read the same bytes at the end.
 *
 * <p>One cluster for the class (the tests run in order): each test makes its own disk, so its own
 * family and replica sets, and the drain, which removes a node, comes last.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SelfHealingAgentIT {

    static final int MIB = 1 << 20;
    static final int PC = 4 * MIB;
    /** Six PCs of 4 MiB: two in each of three columns; fio writes them as six regions. */
    static final byte[] IMAGE = AgentServeIT.imageContent(6 * PC);

    static final Duration HEALING = Duration.ofSeconds(120);

    static Path dir;
    static ApiServerProcess apiServer;
    static StorageNodes nodes;
    NodeChannels channels;
    AttachedDisks attached;
    NbdServer agent;
    FioLoad load;

    /**
     * The nodes the tests before killed. A node whose member was replaced while it was down (or that
     * died as a move's new member) keeps its copies of that family's lcs when it comes back: nothing
     * deletes them. So none of them is the node the drain test empties.
     */
    static final List<String> killed = new ArrayList<>();

    /** The disks the tests made, each in a family of its own. */
    static final List<String> disks = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        dir = ApiServerProcess.fresh("agent-self-healing");
        apiServer = ApiServerProcess.start(
                "agent-self-healing",
                "--sprig.api.backend.type=nodes",
                "--sprig.api.backend.nodes.replicas=3",
                "--sprig.api.backend.nodes.min-in-sync=2",
                // a slow first call on a loaded machine must not drop a member under the test
                "--sprig.api.backend.nodes.call-timeout=3s",
                "--sprig.api.nodes.unreachable-after=3s",
                "--sprig.api.nodes.down-after=5s",
                "--sprig.api.recovery.scan-interval=300ms",
                // a rebuild of a column (8 MiB of the image and what fio wrote) lasts seconds
                "--sprig.api.recovery.bytes-per-second=4MB",
                "--sprig.api.recovery.concurrent-copies=2",
                "--sprig.api.reconcile-interval=2s",
                // scrubs only when the test asks; a difference between members counts after a second
                "--sprig.api.scrub.interval=0s",
                "--sprig.api.scrub.settle=1s",
                "--resilience4j.circuitbreaker.configs.storage-node.wait-duration-in-open-state=1s");
        nodes = new StorageNodes(4, dir, apiServer);
        awaitTrue(() -> nodeStates().values().stream().filter("up"::equals).count() == 4, "4 nodes up");
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

    /** Every node running and up again (a test before may have killed one), and an agent of its own. */
    @BeforeEach
    void startAgent() throws Exception {
        for (int node = 0; node < nodes.count(); node++) {
            nodes.restartIfDead(node);
        }
        // a test that failed before its end may have left a node draining
        for (Map.Entry<String, String> node : nodeStates().entrySet()) {
            if (node.getValue().equals("draining")) {
                admin("POST", "/v1/nodes/" + node.getKey() + ":undrain");
            }
        }
        awaitTrue(() -> nodeStates().values().stream().filter("up"::equals).count() == 4, "4 nodes up");
        channels = new NodeChannels(Duration.ofSeconds(60), Duration.ofSeconds(2));
        attached = new AttachedDisks(
                new Attachments(apiServer.uri(), ApiServerProcess.KEY), channels, Duration.ofSeconds(5));
        agent = NbdServer.start(attached, "127.0.0.1", 0, NbdServer.Settings.of(4, "agent-worker"));
    }

    @AfterEach
    void stopAgent() throws Exception {
        if (load != null) {
            load.close();
        }
        if (agent != null) {
            agent.close();
            attached.close();
            channels.close();
        }
    }

    @Test
    @Order(1)
    void aKilledMembersColumnsGetNewMembersOnTheOtherNodesWhileFioWritesAndVerifiesThroughTheAgent() throws Exception {
        SprigApi api = api();
        String disk = healthyDisk(api);
        AttachmentView before = api.attachment(disk);
        String victim = before.columns().get(0).members().get(0).nodeId();
        killed.add(victim);
        List<Integer> victimsColumns = columnsWith(before, victim);

        load = FioLoad.start(nbd(disk), 6, PC);
        load.awaitJobStartedAfter(Instant.now(), HEALING);
        nodes.process(indexOf(victim)).destroyForcibly().waitFor();
        Instant killed = Instant.now();

        AtomicReference<Instant> rebuildingSeen = new AtomicReference<>();
        awaitTrue(
                () -> {
                    AttachmentView now = api.attachment(disk);
                    if (rebuildingSeen.get() == null
                            && now.columns().stream().anyMatch(c -> count(c, "rebuilding") > 0)) {
                        rebuildingSeen.set(Instant.now());
                    }
                    return healedWithout(now, victim);
                },
                "every column three in-sync members, none on the killed " + victim);
        Instant healed = Instant.now();
        load.awaitJobStartedAfter(healed, HEALING);
        List<FioLoad.Job> jobs = load.stop();

        assertThat(load.failed())
                .as("fio jobs with an I/O error or a verify mismatch")
                .isEmpty();
        assertThat(rebuildingSeen.get())
                .as("a rebuilding member seen in the attachment")
                .isNotNull();
        assertThat(jobs)
                .as("fio wrote before the kill, while the columns were rebuilt, and after")
                .anyMatch(job -> job.ended().isBefore(killed))
                .anyMatch(job -> job.overlaps(rebuildingSeen.get(), healed))
                .anyMatch(job -> job.started().isAfter(healed));
        assertThat(load.verifyLastWrites())
                .as("the final verify of every region")
                .isEmpty();
        AttachmentView after = api.attachment(disk);
        assertThat(after.redundancy()).isEqualTo("healthy");
        for (int column : victimsColumns) {
            assertThat(memberIds(after.columns().get(column)))
                    .as("column %d: the killed node's member replaced by the node that was not in it", column)
                    .doesNotContain(victim)
                    .containsAll(withoutNode(memberIds(before.columns().get(column)), victim));
        }
        assertSameBytesOnEveryInSyncMember(after);
        assertThat(recoveries().values()).as("the recoveries, by state").containsOnly("succeeded");
    }

    @Test
    @Order(2)
    void aRebuildWhoseSourceIsKilledInItsMiddleGoesOnFromAnotherInSyncMemberAndFinishes() throws Exception {
        SprigApi api = api();
        String disk = healthyDisk(api);
        AttachmentView before = api.attachment(disk);
        Map<String, String> recoveriesBefore = recoveries();
        load = FioLoad.start(nbd(disk), 6, PC);
        load.awaitJobStartedAfter(Instant.now(), HEALING);

        // a drain starts the rebuilds: the drained node stays in sync meanwhile, so that with the
        // source dead too each column still has two in-sync members and fio goes on. The node
        // drained is one that no column reads first, so that the source is another
        String drained = readFirstInNone(before);
        assertThat(admin("POST", "/v1/nodes/" + drained + ":drain").statusCode())
                .isEqualTo(200);
        AtomicReference<ReplicaMemberView> rebuilding = new AtomicReference<>();
        AtomicReference<Integer> column = new AtomicReference<>();
        awaitTrue(
                () -> {
                    for (ReplicaColumnView c : api.attachment(disk).columns()) {
                        for (ReplicaMemberView member : c.members()) {
                            if (member.state().equals("rebuilding")) {
                                rebuilding.set(member);
                                column.set(c.column());
                                return true;
                            }
                        }
                    }
                    return false;
                },
                "a rebuilding member after " + drained + " is drained");
        String target = rebuilding.get().nodeId();
        String source = rebuildSourceOf(target, before.lcId());
        assertThat(source).as("the rebuild's source, read first in its column").isNotEqualTo(drained);
        // a drain moves the node's memberships in every family: this disk's is its image's lc
        String rebuiltSet = "rs-" + familyOf(disk) + "-" + column.get();
        String operation = runningRecoveries(recoveriesBefore).stream()
                .filter(id -> api.operation(id).targetId().equals(rebuiltSet))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no running recovery of " + rebuiltSet));
        awaitTrue(() -> api.operation(operation).total() > 0, "recovery " + operation + " knows what it copies");
        OperationView middle = api.operation(operation);
        assertThat(middle.done())
                .as("the rebuild is in its middle when its source is killed: %s", middle)
                .isLessThan(middle.total());
        nodes.process(indexOf(source)).destroyForcibly().waitFor();
        killed.add(source);
        Instant sourceKilled = Instant.now();

        awaitTrue(() -> !api.operation(operation).running(), "recovery " + operation + " ended");
        assertThat(api.operation(operation).succeeded())
                .as("recovery %s, whose source %s was killed: %s", operation, source, api.operation(operation))
                .isTrue();
        AttachmentView rebuilt = api.attachment(disk);
        assertThat(inSyncIn(rebuilt, column.get(), target))
                .as("%s in sync in column %d: %s", target, column.get(), rebuilt)
                .isTrue();
        assertThat(memberIds(rebuilt.columns().get(column.get())))
                .as("column %d", column.get())
                .doesNotContain(drained);
        Instant healed = Instant.now();
        load.awaitJobStartedAfter(healed, HEALING);
        List<FioLoad.Job> jobs = load.stop();

        assertThat(load.failed())
                .as("fio jobs with an I/O error or a verify mismatch")
                .isEmpty();
        assertThat(jobs)
                .as("fio wrote while the source was dead and the rebuild went on")
                .anyMatch(job -> job.overlaps(sourceKilled, healed));
        assertThat(load.verifyLastWrites())
                .as("the final verify of every region")
                .isEmpty();
        assertThat(recoveries().keySet().stream()
                        .filter(id -> !recoveriesBefore.containsKey(id))
                        .filter(id -> api.operation(id).targetId().equals(rebuiltSet)))
                .as("the recoveries of %s: the one, which did not fail and begin again", rebuiltSet)
                .containsExactly(operation);
        // the killed node may have been another move's new member (a drain moves every family's
        // memberships), which then failed: only this disk's rebuilt column is this test's
        assertSameBytesOnEveryInSyncMember(api.attachment(disk), column.get());

        assertThat(admin("POST", "/v1/nodes/" + drained + ":undrain").statusCode())
                .isEqualTo(200);
    }

    /**
     * A bit flipped on disk in the copy of the image that column 0 reads first: the agent's reads
     * never return it (the node refuses the read, its CRC does not match, and the agent reads
     * another member), and a replica scrub repairs it from an intact member.
     */
    @Test
    @Order(4)
    void aBitFlippedInTheCopyTheAgentReadsFirstIsNeverReadAndTheReplicaScrubRepairsIt() throws Exception {
        SprigApi api = api();
        String disk = healthyDisk(api);
        AttachmentView attachment = api.attachment(disk);
        long imageLc = familyOf(disk);
        List<String> inSync = attachment.columns().get(0).members().stream()
                .filter(member -> member.state().equals("in_sync"))
                .map(ReplicaMemberView::nodeId)
                .toList();
        String rotten = inSync.get(0); // column 0 reads first the member at 0 % count
        // segment 1 of PC 0: data (each MiB of the image is random in its first half)
        long at = 256 * 1024 + 3 * 4096 + 7;
        try (var file = java.nio.channels.FileChannel.open(
                nodes.data(indexOf(rotten)).resolve("lc-" + imageLc + ".data"),
                java.nio.file.StandardOpenOption.READ,
                java.nio.file.StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer one = java.nio.ByteBuffer.allocate(1);
            file.read(one, at);
            one.put(0, (byte) (one.get(0) ^ 0x01)).flip();
            file.write(one, at);
        }
        assertThat(node(rotten, "/v1/lcs/" + imageLc + "/data?offset=0&length=" + MIB)
                        .statusCode())
                .as("the rotten copy's node refuses to read it")
                .isEqualTo(500);

        Path read = dir.resolve("read-" + disk + ".raw");
        Tools.succeed("nbdcopy", nbd(disk), read.toString());
        assertThat(Arrays.equals(java.nio.file.Files.readAllBytes(read), IMAGE))
                .as("the disk read through the agent is the image, byte for byte")
                .isTrue();

        HttpResponse<String> started = admin("POST", "/v1/replica-sets:scrub");
        assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
        String scrub = Wire.tree(started.body()).path("id").asString();
        awaitTrue(() -> !api.operation(scrub).running(), "scrub " + scrub + " ended");
        assertThat(api.operation(scrub).succeeded())
                .as("%s", api.operation(scrub))
                .isTrue();
        assertThat(Arrays.equals(nodeRead(rotten, imageLc, 0, PC), Arrays.copyOf(IMAGE, PC)))
                .as("the rotten copy repaired")
                .isTrue();
        assertThat(Wire.tree(admin("GET", "/v1/nodes/" + rotten).body())
                        .path("repairedSegments")
                        .asLong())
                .isGreaterThanOrEqualTo(1);
        assertSameBytesOnEveryInSyncMember(api.attachment(disk));
    }

    @Test
    @Order(5)
    void aNodeDrainedUnderFioEndsEmptyAndIsRemovedWhileNoWriteOrReadFails() throws Exception {
        SprigApi api = api();
        String disk = healthyDisk(api);
        AttachmentView before = api.attachment(disk);
        load = FioLoad.start(nbd(disk), 6, PC);
        load.awaitJobStartedAfter(Instant.now(), HEALING);

        String drained = before.columns().get(0).members().stream()
                .map(ReplicaMemberView::nodeId)
                .filter(node -> !killed.contains(node))
                .findFirst()
                .orElseThrow();
        assertThat(admin("POST", "/v1/nodes/" + drained + ":drain").statusCode())
                .isEqualTo(200);
        // each move copies a column's 8 MiB at 2 MB/s: the node is a member for seconds yet
        HttpResponse<String> refused = admin("DELETE", "/v1/nodes/" + drained);
        assertThat(refused.statusCode())
                .as("removing a node that still holds memberships: %s", refused.body())
                .isEqualTo(409);

        awaitTrue(() -> memberships(drained) == 0, drained + " a member of no set");
        awaitTrue(() -> lcsOn(drained).isEmpty(), drained + " holds no lc");
        Instant emptied = Instant.now();
        load.awaitJobStartedAfter(emptied, HEALING);
        load.stop();

        assertThat(load.failed())
                .as("fio jobs with an I/O error or a verify mismatch")
                .isEmpty();
        assertThat(load.verifyLastWrites())
                .as("the final verify of every region")
                .isEmpty();
        AttachmentView after = api.attachment(disk);
        assertThat(after.redundancy()).isEqualTo("healthy");
        for (ReplicaColumnView c : after.columns()) {
            assertThat(memberIds(c)).as("column %d", c.column()).hasSize(3).doesNotContain(drained);
        }
        assertSameBytesOnEveryInSyncMember(after);
        HttpResponse<String> removed = admin("DELETE", "/v1/nodes/" + drained);
        assertThat(removed.statusCode()).as(removed.body()).isEqualTo(204);
        assertThat(nodeStates()).doesNotContainKey(drained);
    }

    /**
     * What the tests before did to the other families too (a drain moves a node's memberships in
     * every family; a killed node is replaced in each): once no recovery runs, every column of every
     * disk made here reads the same on each of its in-sync members. A node that joins a family again
     * while it still holds old copies of its lcs (it was replaced while down, or a move to it failed)
     * must not keep them as if they were filled.
     */
    @Test
    @Order(3)
    void everyDiskReadsTheSameOnEveryInSyncMemberOnceTheRecoveriesAreDone() throws Exception {
        SprigApi api = api();
        awaitTrue(() -> runningRecoveries(Map.of()).isEmpty(), "no recovery running");
        assertThat(disks).hasSize(2);
        for (String disk : disks) {
            AttachmentView attachment = api.attachment(disk);
            for (ReplicaColumnView c : attachment.columns()) {
                assertThat(count(c, "in_sync"))
                        .as("%s column %d", disk, c.column())
                        .isGreaterThanOrEqualTo(2);
            }
            assertSameBytesOnEveryInSyncMember(attachment);
        }
    }

    /** Each PC of the disk reads the same on every in-sync member of its column, over the node API. */
    private static void assertSameBytesOnEveryInSyncMember(AttachmentView disk) throws Exception {
        for (ReplicaColumnView column : disk.columns()) {
            assertSameBytesOnEveryInSyncMember(disk, column.column());
        }
    }

    /** Each PC of column {@code c} of the disk reads the same on every in-sync member of the column. */
    private static void assertSameBytesOnEveryInSyncMember(AttachmentView disk, int c) throws Exception {
        int columns = disk.columns().size();
        for (int pc = c; (long) pc * PC < disk.sizeBytes(); pc += columns) {
            ReplicaColumnView column = disk.columns().get(c);
            byte[] first = null;
            String firstNode = null;
            for (ReplicaMemberView member : column.members()) {
                if (!member.state().equals("in_sync")) {
                    continue;
                }
                byte[] read = nodeRead(member.nodeId(), disk.lcId(), (long) pc * PC, PC);
                if (first == null) {
                    first = read;
                    firstNode = member.nodeId();
                } else {
                    assertThat(Arrays.equals(read, first))
                            .as("PC %d of lc %d on %s as on %s", pc, disk.lcId(), member.nodeId(), firstNode)
                            .isTrue();
                }
            }
        }
    }

    /**
     * A new disk, cloned from a new image, once every member of each of its columns is in sync (a
     * node restarted by the test before may miss the clone's first calls and be caught up).
     */
    private static String healthyDisk(SprigApi api) throws Exception {
        String disk = api.clone(api.image(IMAGE));
        awaitTrue(() -> api.attachment(disk).redundancy().equals("healthy"), disk + " healthy");
        disks.add(disk);
        return disk;
    }

    /**
     * A node of the disk that is not the first its columns read from (an attachment lists the
     * in-sync members in the order of the set, and column {@code c} reads first the one at {@code c
     * % count}): the first of a rebuild's sources is the one its column reads first.
     */
    private static String readFirstInNone(AttachmentView disk) {
        List<String> readFirst = new ArrayList<>();
        for (ReplicaColumnView c : disk.columns()) {
            List<String> inSync = c.members().stream()
                    .filter(m -> m.state().equals("in_sync"))
                    .map(ReplicaMemberView::nodeId)
                    .toList();
            readFirst.add(inSync.get(c.column() % inSync.size()));
        }
        return disk.columns().stream()
                .flatMap(c -> memberIds(c).stream())
                .filter(node -> !readFirst.contains(node))
                .findFirst()
                .orElseThrow(() -> new AssertionError("every node of the disk is read first in a column: " + disk));
    }

    private static boolean healedWithout(AttachmentView attachment, String nodeId) {
        return attachment.columns().stream()
                .allMatch(c -> count(c, "in_sync") == 3 && !memberIds(c).contains(nodeId));
    }

    private static boolean inSyncIn(AttachmentView attachment, int column, String nodeId) {
        return attachment.columns().get(column).members().stream()
                .anyMatch(member ->
                        member.nodeId().equals(nodeId) && member.state().equals("in_sync"));
    }

    private static long count(ReplicaColumnView column, String state) {
        return column.members().stream().filter(m -> m.state().equals(state)).count();
    }

    private static List<String> memberIds(ReplicaColumnView column) {
        return column.members().stream().map(ReplicaMemberView::nodeId).toList();
    }

    private static List<String> withoutNode(List<String> ids, String nodeId) {
        return ids.stream().filter(id -> !id.equals(nodeId)).toList();
    }

    private static List<Integer> columnsWith(AttachmentView attachment, String nodeId) {
        return attachment.columns().stream()
                .filter(c -> memberIds(c).contains(nodeId))
                .map(ReplicaColumnView::column)
                .toList();
    }

    /** The node, by id, whose lc is the rebuild source of lc {@code lcId} on node {@code nodeId}. */
    private static String rebuildSourceOf(String nodeId, long lcId) throws Exception {
        HttpResponse<String> source = node(nodeId, "/v1/lcs/" + lcId + "/rebuildSource");
        assertThat(source.statusCode()).as(source.body()).isEqualTo(200);
        String endpoint = Wire.tree(source.body()).path("endpoint").asString();
        for (int node = 0; node < nodes.count(); node++) {
            if (nodes.http(node).toString().equals(endpoint)) {
                return nodes.id(node);
            }
        }
        throw new AssertionError("no node at " + endpoint);
    }

    /** The disk's family: the id of its root lc, the lc of the image it was cloned from. */
    private static long familyOf(String disk) throws Exception {
        String image = Wire.tree(admin("GET", "/v1/disks/" + disk).body())
                .path("sourceId")
                .asString();
        return Wire.tree(admin("GET", "/v1/images/" + image).body())
                .path("lcId")
                .asLong();
    }

    private static List<Long> lcsOn(String nodeId) throws Exception {
        List<Long> lcs = new ArrayList<>();
        Wire.tree(node(nodeId, "/v1/lcs").body())
                .forEach(lc -> lcs.add(lc.path("lcId").asLong()));
        return lcs;
    }

    private static HttpResponse<String> node(String nodeId, String path) throws Exception {
        int node = indexOf(nodeId);
        return HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(nodes.http(node).resolve(path))
                                .header("Authorization", "Bearer " + nodes.token(node))
                                .timeout(Duration.ofSeconds(10))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
    }

    private static byte[] nodeRead(String nodeId, long lcId, long offset, int length) throws Exception {
        int node = indexOf(nodeId);
        HttpResponse<byte[]> read = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(nodes.http(node)
                                        .resolve("/v1/lcs/" + lcId + "/data?offset=" + offset + "&length=" + length))
                                .header("Authorization", "Bearer " + nodes.token(node))
                                .timeout(Duration.ofSeconds(30))
                                .build(),
                        HttpResponse.BodyHandlers.ofByteArray());
        assertThat(read.statusCode()).as("reading lc %d on %s", lcId, nodeId).isEqualTo(200);
        return read.body();
    }

    private static HttpResponse<String> admin(String method, String path) throws Exception {
        return HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(apiServer.uri().resolve(path))
                                .header("Authorization", "Bearer " + ApiServerProcess.ADMIN_KEY)
                                .method(method, HttpRequest.BodyPublishers.noBody())
                                .timeout(Duration.ofSeconds(30))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
    }

    /** Each registered node's state (up, unreachable, down, draining), by id. */
    private static Map<String, String> nodeStates() {
        Map<String, String> states = new HashMap<>();
        try {
            Wire.tree(admin("GET", "/v1/nodes").body())
                    .path("items")
                    .forEach(node -> states.put(
                            node.path("nodeId").asString(), node.path("state").asString()));
        } catch (Exception notAnswering) {
            // api-server starting: no node yet
        }
        return states;
    }

    /** The replica sets the node is a member of, as GET /v1/nodes counts them. */
    private static long memberships(String nodeId) {
        try {
            for (JsonNode node : Wire.tree(admin("GET", "/v1/nodes").body()).path("items")) {
                if (node.path("nodeId").asString().equals(nodeId)) {
                    return node.path("replicaSets").asLong();
                }
            }
        } catch (Exception notAnswering) {
            return -1;
        }
        throw new AssertionError("no node " + nodeId + " in GET /v1/nodes");
    }

    /** Every recovery operation's state, by id. */
    private static Map<String, String> recoveries() {
        Map<String, String> states = new HashMap<>();
        try {
            Wire.tree(admin("GET", "/v1/operations?kind=recovery&pageSize=1000").body())
                    .path("items")
                    .forEach(operation -> states.put(
                            operation.path("id").asString(),
                            operation.path("state").asString()));
        } catch (Exception notAnswering) {
            throw new AssertionError(notAnswering);
        }
        return states;
    }

    private static List<String> runningRecoveries(Map<String, String> before) {
        return recoveries().entrySet().stream()
                .filter(operation -> !before.containsKey(operation.getKey())
                        && operation.getValue().equals("running"))
                .map(Map.Entry::getKey)
                .toList();
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

    private static void awaitTrue(Callable<Boolean> condition, String what) throws Exception {
        long deadline = System.nanoTime() + HEALING.toNanos();
        while (!condition.call()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + HEALING + ": " + what);
            }
            Thread.sleep(200);
        }
    }
}
