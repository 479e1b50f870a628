package dev.sprig.api;

import static dev.sprig.api.ImageAndDiskApiIT.assertProblem;
import static dev.sprig.api.ImageAndDiskApiIT.imageContent;
import static dev.sprig.api.ImageAndDiskApiIT.unique;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sprig.api.StorageNodeProcesses.NodeProcess;
import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.error.SprigException;
import dev.sprig.api.lineage.Reconciler;
import dev.sprig.api.node.Node;
import dev.sprig.api.node.NodeRegistry;
import dev.sprig.api.placement.ReplicaSet;
import dev.sprig.api.placement.ReplicaSet.Member;
import dev.sprig.api.placement.ReplicaSets;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * api-server on four real storage-node processes with three replicas per stripe column (decision
 * 011): every column of a family is a set of three distinct nodes that all get its writes; a member
 * killed with SIGKILL is dropped from its columns (their epochs go up) and requests go on on the
 * others; with two of a column's three members dead requests fail with 503 INSUFFICIENT_REPLICAS
 * and change nothing. The tests share the nodes and run in order: later ones find the nodes as the
 * earlier ones left them.
 */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "sprig.api.api-keys=" + ReplicatedNodesIT.KEY,
            "sprig.api.admin-keys=" + ReplicatedNodesIT.ADMIN,
            "sprig.api.backend.type=nodes",
            // drain here only steers placement for a moment; a scan in that moment would move members
            "sprig.api.recovery.enabled=false",
            "sprig.api.backend.nodes.replicas=3",
            "sprig.api.backend.nodes.min-in-sync=2",
            // what is tested is replication, not the nodes' speed on a loaded machine: a killed node
            // refuses connections at once whatever the timeout
            "sprig.api.backend.nodes.call-timeout=3s",
            "sprig.api.nodes.unreachable-after=10m",
            "sprig.api.nodes.down-after=20m",
            "sprig.api.reconcile-interval=10m",
            "resilience4j.circuitbreaker.configs.storage-node.wait-duration-in-open-state=1s"
        })
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReplicatedNodesIT {

    static final String KEY = "replicated-key-0123456789";
    static final String ADMIN = "replicated-admin-0123456789";
    static final int MIB = 1 << 20;
    static final int PC = 4 * MIB;

    static StorageNodeProcesses nodes;

    /** A local image store for imports. */
    static Path sources;

    /** The image the tests clone (three PCs, one per column), its content and its family. */
    static String image;

    static byte[] content;
    static long family;

    /** An image no request touches after node1 is killed: node1 stays in sync in its sets. */
    static String untouched;

    static byte[] untouchedContent;

    @DynamicPropertySource
    static void dataDirs(DynamicPropertyRegistry registry) {
        TestDataDirs.isolate(registry, "replicated-nodes");
        sources = TestDataDirs.fresh("replicated-nodes-sources");
        registry.add(
                "sprig.api.image-sources.allowed-prefixes",
                () -> sources.toUri().toString());
    }

    @BeforeAll
    static void fourStorageNodes() {
        nodes = new StorageNodeProcesses(4, TestDataDirs.fresh("replicated-nodes-processes"));
    }

    @AfterAll
    static void stopNodes() {
        if (nodes != null) {
            nodes.close();
        }
    }

    @LocalServerPort
    int port;

    @Autowired
    ReplicaSets sets;

    @Autowired
    StorageBackend backend;

    @Autowired
    Reconciler reconciler;

    @Autowired
    NodeRegistry registry;

    @Autowired
    JdbcTemplate jdbc;

    ApiClient api;
    ApiClient admin;

    @BeforeEach
    void registered() {
        api = new ApiClient(port, KEY);
        admin = api.withKey(ADMIN);
        for (NodeProcess node : nodes.nodes) {
            HttpResponse<String> registered = admin.registerNode(node.id, node.registration());
            assertThat(registered.statusCode()).as(registered.body()).isIn(200, 201);
        }
    }

    @Test
    @Order(1)
    void aNewFamilyOnFourNodesGetsThreeDistinctInSyncMembersInEachOfItsThreeColumns() {
        content = imageContent(3 * PC);
        image = api.availableImage(content);
        family = lcOf("/v1/images/" + image);

        List<ReplicaSet> columns = sets.of(family);

        // equal free space: the nodes in id order, each column starting one further round the list
        assertThat(columns).extracting(ReplicaSet::column).containsExactly(0, 1, 2);
        assertThat(columns)
                .extracting(ReplicatedNodesIT::memberIds)
                .containsExactly(
                        List.of("node1", "node2", "node3"),
                        List.of("node2", "node3", "node4"),
                        List.of("node3", "node4", "node1"));
        for (ReplicaSet column : columns) {
            assertThat(column.epoch()).isEqualTo(1);
            assertThat(column.inSync()).hasSize(3);
            assertThat(new HashSet<>(memberIds(column))).hasSize(3);
        }
        for (NodeProcess node : nodes.nodes) {
            assertThat(node.lcIds())
                    .as("the image's lc is defined on " + node.id)
                    .contains(family);
        }
        untouchedContent = imageContent(PC + MIB);
        untouched = api.availableImage(untouchedContent);
    }

    @Test
    @Order(2)
    void anUploadLandsOnEveryMemberOfEachPcsColumnAndNowhereElse() {
        assertStoredOnItsColumnsMembers(family, content);
    }

    @Test
    @Order(3)
    void anImportLandsOnEveryMemberOfEachPcsColumnAndNowhereElse() throws Exception {
        byte[] imported = imageContent(3 * PC + MIB);
        Path file = sources.resolve("replicated.raw");
        Files.write(file, imported);
        HttpResponse<String> accepted = api.post(
                "/v1/images",
                "{\"name\":\"" + unique("imported") + "\",\"source\":{\"url\":\"" + file.toUri() + "\"}}");
        assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
        JsonNode finished =
                api.awaitFinished(ApiClient.json(accepted).path("operationId").asString());
        assertThat(finished.path("state").asString()).as(finished.toString()).isEqualTo("succeeded");

        assertStoredOnItsColumnsMembers(lcOf("/v1/images/" + ApiClient.id(ApiClient.json(accepted))), imported);
    }

    @Test
    @Order(4)
    void withFewerUpNodesThanReplicasANewFamilyIsRefusedAndNothingIsPlaced() {
        int setsBefore = jdbc.queryForObject("SELECT count(*) FROM replica_set", Integer.class);
        assertThat(admin.post("/v1/nodes/node3:drain", "").statusCode()).isEqualTo(200);
        assertThat(admin.post("/v1/nodes/node4:drain", "").statusCode()).isEqualTo(200);
        try {
            HttpResponse<String> created =
                    api.post("/v1/images", "{\"name\":\"" + unique("refused") + "\",\"sizeBytes\":" + PC + "}");
            assertThat(created.statusCode()).as(created.body()).isEqualTo(201);

            HttpResponse<String> refused =
                    api.put("/v1/images/" + ApiClient.id(ApiClient.json(created)) + "/file", new byte[PC]);

            assertProblem(refused, 503, "INSUFFICIENT_NODES");
            assertThat(ApiClient.json(refused).path("detail").asString()).contains("needs 3", "2 are up and answering");
            assertThat(refused.headers().firstValue("Retry-After")).isPresent();
            assertThat(jdbc.queryForObject("SELECT count(*) FROM replica_set", Integer.class))
                    .isEqualTo(setsBefore);
        } finally {
            admin.post("/v1/nodes/node3:undrain", "");
            admin.post("/v1/nodes/node4:undrain", "");
        }
    }

    /**
     * A disk written through the backend before node1 dies, then a snapshot of it, a clone of the
     * snapshot and a bulk clone of the image after: all go on without node1, which is dropped from
     * the two columns of the family it was in (and only from them).
     */
    @Test
    @Order(5)
    void withOneMemberKilledSnapshotsClonesAndABulkCloneGoOnAndTheDeadNodeIsDroppedFromItsColumns() {
        JsonNode disk = api.clone(image);
        long diskLc = disk.path("lcId").asLong();
        byte[] written = new byte[2 * MIB];
        new Random(5).nextBytes(written);
        // across the boundary of PC 0 (column 0) and PC 1 (column 1)
        backend.write(diskLc, PC - MIB, ByteBuffer.wrap(written));
        backend.flush(diskLc);
        byte[] expected = content.clone();
        System.arraycopy(written, 0, expected, PC - MIB, written.length);
        List<ReplicaSet> before = sets.of(family);

        nodes.node(1).kill();

        HttpResponse<String> snapshot =
                api.post("/v1/disks/" + ApiClient.id(disk) + "/snapshots", "{\"name\":\"" + unique("s") + "\"}");
        assertThat(snapshot.statusCode()).as(snapshot.body()).isEqualTo(201);
        HttpResponse<String> fromSnapshot = api.tryClone(ApiClient.id(ApiClient.json(snapshot)));
        assertThat(fromSnapshot.statusCode()).as(fromSnapshot.body()).isEqualTo(201);
        HttpResponse<String> batch = api.post(
                "/v1/disks:batchCreate",
                "{\"sourceId\":\"" + image + "\",\"count\":2500,\"namePrefix\":\"" + unique("fleet") + "\"}");
        assertThat(batch.statusCode()).as(batch.body()).isEqualTo(201);

        List<ReplicaSet> after = sets.of(family);
        for (int column = 0; column < 3; column++) {
            boolean wasIn = memberIds(before.get(column)).contains("node1");
            assertThat(after.get(column).epoch())
                    .as("the epoch of column " + column)
                    .isEqualTo(before.get(column).epoch() + (wasIn ? 1 : 0));
            assertThat(after.get(column).hasInSync("node1")).isFalse();
            assertThat(after.get(column).inSync()).hasSize(wasIn ? 2 : 3);
        }
        assertThat(after.get(0).members())
                .filteredOn(member -> member.nodeId().equals("node1"))
                .extracting(Member::state)
                .containsExactly(ReplicaSet.State.STALE);
        // raised once the drop committed, before the request answered
        assertThat(fences(node(2))).contains(family + "/0@2").doesNotContain(family + "/1@2");
        assertThat(fences(node(3))).contains(family + "/0@2", family + "/2@2");
        assertThat(fences(node(4))).contains(family + "/2@2");

        long cloneLc = ApiClient.json(fromSnapshot).path("lcId").asLong();
        ByteBuffer read = ByteBuffer.allocate(expected.length);
        backend.read(cloneLc, 0, read);
        assertThat(Arrays.equals(read.array(), expected))
                .as("the clone of the snapshot reads the disk's bytes through the backend")
                .isTrue();
        assertStoredOnItsColumnsInSyncMembers(cloneLc, expected);

        JsonNode disks = ApiClient.json(batch).path("disks");
        assertThat(disks.size()).isEqualTo(2500);
        for (int i = 0; i < disks.size(); i++) {
            long lc = disks.get(i).path("lcId").asLong();
            int at = (i % 3) * PC + (i % 64) * 4096;
            ByteBuffer bytes = ByteBuffer.allocate(4096);
            backend.read(lc, at, bytes);
            assertThat(Arrays.equals(bytes.array(), Arrays.copyOfRange(content, at, at + 4096)))
                    .as("clone " + i + " at " + at)
                    .isTrue();
        }
    }

    @Test
    @Order(6)
    void aReadGoesToAnotherInSyncMemberWhenTheOneItPrefersDoesNotAnswer() {
        long lc = lcOf("/v1/images/" + untouched);
        assertThat(sets.of(lc).get(0).readOrder()).as("column 0 prefers node1").startsWith("node1");

        ByteBuffer read = ByteBuffer.allocate(untouchedContent.length);
        backend.read(lc, 0, read);

        assertThat(Arrays.equals(read.array(), untouchedContent)).isTrue();
        assertThat(sets.of(lc).get(0).hasInSync("node1"))
                .as("a read drops no one")
                .isTrue();
    }

    @Test
    @Order(7)
    void aFlattenRunsOnTheInSyncMembersAlone() {
        JsonNode disk = api.clone(image);
        long lc = disk.path("lcId").asLong();

        HttpResponse<String> started = api.action("/v1/disks/" + ApiClient.id(disk) + ":flatten");
        assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
        JsonNode finished = api.awaitFinished(ApiClient.json(started).path("id").asString());

        assertThat(finished.path("state").asString()).as(finished.toString()).isEqualTo("succeeded");
        for (String nodeId : List.of("node2", "node3", "node4")) {
            assertThat(ApiClient.json(node(nodeId).get("/v1/lcs/" + lc))
                            .path("parentLcId")
                            .isNull())
                    .as("no parent on " + nodeId)
                    .isTrue();
        }
        assertStoredOnItsColumnsInSyncMembers(lc, content);
    }

    /**
     * node1, dead since order 5, still heartbeats here (the test registers it before each test, and a
     * node killed and started again within its heartbeat window looks the same): once api-server's
     * calls have found it silent, new families go to the other nodes, rather than onto it with a
     * member that is stale from its first call.
     */
    @Test
    @Order(8)
    void aNodeThatStoppedAnsweringCallsIsOfferedToNoNewFamilyWhileItsHeartbeatsAreRecent() {
        assertThat(registry.statesById()).containsEntry("node1", Node.State.UP);
        for (int pass = 0; pass < 10 && forNewFamilies().contains("node1"); pass++) {
            try {
                reconciler.reconcile(); // lists every node's lcs: a call to node1 that is refused
            } catch (SprigException.NodeUnavailable expected) {
                // node1's breaker counts it
            }
        }

        assertThat(forNewFamilies()).containsExactly("node2", "node3", "node4");
        assertThat(registry.statesById()).containsEntry("node1", Node.State.UP);
    }

    private List<String> forNewFamilies() {
        return registry.forNewFamilies().stream().map(Node::nodeId).sorted().toList();
    }

    @Test
    @Order(9)
    void withTwoOfAColumnsThreeMembersDeadRequestsFailWithInsufficientReplicasAndChangeNothing() {
        JsonNode disk = api.clone(image);
        List<ReplicaSet> before = sets.of(family);
        nodes.node(2).kill();
        try {
            String name = unique("refused");
            HttpResponse<String> clone =
                    api.post("/v1/disks", "{\"name\":\"" + name + "\",\"sourceId\":\"" + image + "\"}");
            HttpResponse<String> snapshot =
                    api.post("/v1/disks/" + ApiClient.id(disk) + "/snapshots", "{\"name\":\"" + unique("s") + "\"}");

            assertProblem(clone, 503, "INSUFFICIENT_REPLICAS");
            assertThat(clone.headers().firstValue("Retry-After")).isPresent();
            assertProblem(snapshot, 503, "INSUFFICIENT_REPLICAS");
            assertThat(ApiClient.json(api.get("/v1/disks?namePrefix=" + name))
                            .path("items")
                            .size())
                    .as("no disk row")
                    .isZero();
            assertThat(ApiClient.json(api.get("/v1/disks/" + ApiClient.id(disk)))
                            .path("lcId")
                            .asLong())
                    .as("the disk still writes to its lc")
                    .isEqualTo(disk.path("lcId").asLong());
            assertThat(sets.of(family)).as("the same members and epochs").isEqualTo(before);
            assertThat(fences(node(3)))
                    .as("a drop that rolled back fences nothing")
                    .contains(family + "/0@2")
                    .doesNotContain(family + "/0@3");
        } finally {
            for (NodeProcess node : List.of(nodes.node(1), nodes.node(2))) {
                node.start();
                node.awaitUp();
            }
        }
    }

    /**
     * node1 came back lacking every lc made while it was dead: it is stale in the image's family, so
     * nothing is reported; an lc gone from an in-sync member is.
     */
    @Test
    @Order(10)
    void theReconcilerExpectsEveryLcOnEachInSyncMemberAndNothingOfAStaleOne() {
        assertThat(fences(node(1)))
                .as("node1 was dead when its columns were fenced")
                .isEmpty();

        Reconciler.Report report = reconcileOnceTheBreakersLetThrough();

        assertThat(report.missing()).isEmpty();
        assertThat(report.orphansDeleted()).isEmpty();
        assertThat(fences(node(1)))
                .as("the pass brought node1's fences up to the database's epochs")
                .contains(family + "/0@2", family + "/2@2");

        long lc = api.clone(image).path("lcId").asLong();
        assertThat(nodes.node(3).delete("/v1/lcs/" + lc).statusCode()).isEqualTo(204);

        assertThat(reconciler.reconcile().missing()).containsExactly(lc);
    }

    /**
     * node4 is dropped from two columns of another family while it is dead, and registers again
     * after its heartbeat went stale: it gets the fences it missed at once, without a reconciler pass.
     */
    @Test
    @Order(11)
    void aNodeThatRegistersAfterBeingUnreachableGetsTheFencesItMissed() {
        long other = lcOf("/v1/images/" + untouched);
        NodeProcess node4 = nodes.node(4);
        node4.kill();
        try {
            HttpResponse<String> clone = api.tryClone(untouched);
            assertThat(clone.statusCode()).as(clone.body()).isEqualTo(201);
            assertThat(sets.of(other))
                    .filteredOn(set -> memberIds(set).contains("node4"))
                    .allSatisfy(set -> assertThat(set.epoch()).isEqualTo(2));
        } finally {
            node4.start();
            node4.awaitUp();
        }
        assertThat(fences(node4)).doesNotContain(other + "/1@2", other + "/2@2");
        jdbc.update("UPDATE node SET last_heartbeat_at = now() - interval '11 minutes' WHERE node_id = 'node4'");

        assertThat(admin.registerNode("node4", node4.registration()).statusCode())
                .isEqualTo(200);

        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (!fences(node4).containsAll(List.of(other + "/1@2", other + "/2@2")) && System.nanoTime() < deadline) {
            StorageNodeProcesses.sleep(100);
        }
        assertThat(fences(node4)).contains(other + "/1@2", other + "/2@2");
    }

    /**
     * What a client-agent's report of a failed member does (decision 011's dropMember): drops the
     * member from that column alone, at the epoch the agent saw, and raises the remaining members'
     * fences; a late or repeated report changes nothing; one that would leave too few changes nothing
     * either.
     */
    @Test
    @Order(12)
    void aReportedMemberIsDroppedFromItsColumnAtTheEpochTheReporterSawAndNoFurther() {
        long other = lcOf("/v1/images/" + untouched);
        ReplicaSet column0 = sets.of(other).get(0);
        assertThat(memberIds(column0)).containsExactly("node1", "node2", "node3");
        assertThat(column0.epoch()).isEqualTo(1);

        ReplicaSet dropped = sets.drop(other, 0, "node1", 1);

        assertThat(dropped.epoch()).isEqualTo(2);
        assertThat(dropped.inSyncNodeIds()).containsExactly("node2", "node3");
        assertThat(sets.of(other).get(2).hasInSync("node1"))
                .as("only the reported column")
                .isTrue();
        assertThat(fences(node(2))).contains(other + "/0@2");
        assertThat(fences(node(3))).contains(other + "/0@2");
        assertThat(sets.drop(other, 0, "node1", 1)).as("a repeated report").isEqualTo(dropped);
        assertThat(sets.drop(other, 0, "node2", 1))
                .as("a report from before the drop")
                .isEqualTo(dropped);
        assertThatThrownBy(() -> sets.drop(other, 0, "node2", 2))
                .isInstanceOf(SprigException.InsufficientReplicas.class);
        assertThatThrownBy(() -> sets.drop(other, 0, "node2", 3)).isInstanceOf(SprigException.InvalidArgument.class);
        assertThat(sets.of(other).get(0)).isEqualTo(dropped);
    }

    /** A node's fences, as {@code family/column@epoch}. */
    private static List<String> fences(NodeProcess node) {
        HttpResponse<String> listed = node.get("/v1/fences");
        assertThat(listed.statusCode()).as(listed.body()).isEqualTo(200);
        List<String> fences = new java.util.ArrayList<>();
        ApiClient.json(listed)
                .forEach(fence -> fences.add(fence.path("familyId").asLong() + "/"
                        + fence.path("column").asInt() + "@"
                        + fence.path("epoch").asLong()));
        return fences;
    }

    private Reconciler.Report reconcileOnceTheBreakersLetThrough() {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            try {
                return reconciler.reconcile();
            } catch (RuntimeException notYet) {
                if (System.nanoTime() > deadline) {
                    throw notYet;
                }
                StorageNodeProcesses.sleep(200);
            }
        }
    }

    /**
     * Each PC of {@code lc} reads {@code expected}'s bytes on every member of its column (read over
     * the node API), and only zeros on the nodes that are not.
     */
    private void assertStoredOnItsColumnsMembers(long lc, byte[] expected) {
        List<ReplicaSet> columns = sets.of(familyOf(lc));
        for (int pc = 0; pc * PC < expected.length; pc++) {
            ReplicaSet column = columns.get(pc % columns.size());
            byte[] slice = Arrays.copyOfRange(expected, pc * PC, Math.min(expected.length, (pc + 1) * PC));
            for (NodeProcess node : nodes.nodes) {
                byte[] stored = node.read(lc, (long) pc * PC, slice.length).body();
                if (memberIds(column).contains(node.id)) {
                    assertThat(Arrays.equals(stored, slice))
                            .as("PC " + pc + " of lc " + lc + " on " + node.id)
                            .isTrue();
                } else {
                    assertThat(stored).as("PC " + pc + " is not on " + node.id).containsOnly(0);
                }
            }
        }
    }

    /** Each PC of {@code lc} reads {@code expected}'s bytes on every in-sync member of its column. */
    private void assertStoredOnItsColumnsInSyncMembers(long lc, byte[] expected) {
        List<ReplicaSet> columns = sets.of(familyOf(lc));
        for (int pc = 0; pc * PC < expected.length; pc++) {
            ReplicaSet column = columns.get(pc % columns.size());
            byte[] slice = Arrays.copyOfRange(expected, pc * PC, Math.min(expected.length, (pc + 1) * PC));
            for (String nodeId : column.inSyncNodeIds()) {
                assertThat(Arrays.equals(
                                node(nodeId)
                                        .read(lc, (long) pc * PC, slice.length)
                                        .body(),
                                slice))
                        .as("PC " + pc + " of lc " + lc + " on " + nodeId)
                        .isTrue();
            }
        }
    }

    private long lcOf(String path) {
        return ApiClient.json(api.get(path)).path("lcId").asLong();
    }

    private long familyOf(long lc) {
        return jdbc.queryForObject("SELECT family_id FROM lc WHERE lc_id = ?", Long.class, lc);
    }

    private static NodeProcess node(int oneBased) {
        return nodes.node(oneBased);
    }

    private static NodeProcess node(String id) {
        return nodes.nodes.stream().filter(n -> n.id.equals(id)).findFirst().orElseThrow();
    }

    /** The set's members' ids, by position. */
    private static List<String> memberIds(ReplicaSet set) {
        return set.members().stream().map(Member::nodeId).toList();
    }
}
