package dev.sprig.api;

import static dev.sprig.api.ImageAndDiskApiIT.assertProblem;
import static dev.sprig.api.ImageAndDiskApiIT.imageContent;
import static dev.sprig.api.ImageAndDiskApiIT.unique;
import static dev.sprig.api.ProblemResponsesIT.assertIsTheDocumentedProblem;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sprig.api.StorageNodeProcesses.NodeProcess;
import dev.sprig.api.error.SprigException;
import dev.sprig.api.node.NodeRegistry;
import dev.sprig.api.node.Registration;
import dev.sprig.node.access.DataAccess;
import dev.sprig.node.access.DataGrant;
import dev.sprig.node.access.DataTokens;
import dev.sprig.node.access.ReplicaEpoch;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
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
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * Replication as clients and operators see it (issue 19, decision 011), against four real
 * storage-node processes with three copies of every column: the attachment's columns with a token
 * per in-sync member at the column's epoch, opened by real NBD clients; a client-agent's
 * {@code attachment:dropMember}, which fences the remaining members before it answers; and the
 * disk views, node views and the degraded-set gauge that show it.
 */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "sprig.api.api-keys=" + ReplicaViewsIT.KEY,
            "sprig.api.admin-keys=" + ReplicaViewsIT.ADMIN,
            "sprig.api.backend.type=nodes",
            "sprig.api.backend.nodes.replicas=3",
            "sprig.api.backend.nodes.min-in-sync=2",
            "sprig.api.backend.nodes.stripe-width=3",
            // what is tested is what clients see, not the nodes' speed on a loaded machine (a slow first
            // call would drop a member); the stopped node of the last test still times out
            "sprig.api.backend.nodes.call-timeout=3s",
            "sprig.api.nodes.unreachable-after=10m",
            "sprig.api.nodes.down-after=20m",
            "sprig.api.reconcile-interval=10m",
            // the views of a stale member on a node that is up: with recovery on, it would be caught up
            // (decision 012) while the tests look at it; CatchUpIT covers that
            "sprig.api.recovery.enabled=false",
            "resilience4j.circuitbreaker.configs.storage-node.wait-duration-in-open-state=1s"
        })
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReplicaViewsIT {

    static final String KEY = "replica-views-key-0123456789";
    static final String ADMIN = "replica-views-admin-0123456789";
    static final int MIB = 1 << 20;
    static final int PC = 4 * MIB;

    static StorageNodeProcesses nodes;

    /** The disk whose column 0 lost a member in {@link #dropMemberMarksItStaleBumpsTheEpochAndFencesTheOthers}. */
    static String degradedDisk;

    static String droppedNode;

    @DynamicPropertySource
    static void dataDirs(DynamicPropertyRegistry registry) {
        TestDataDirs.isolate(registry, "replica-views");
    }

    @BeforeAll
    static void fourStorageNodes() {
        Path dir = TestDataDirs.fresh("replica-views-processes");
        nodes = new StorageNodeProcesses(4, dir);
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
    NodeRegistry registry;

    @Autowired
    DataSource dataSource;

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
    void theAttachmentListsThreeColumnsOfThreeInSyncMembersWithTokensAtTheColumnsEpoch() throws Exception {
        String disk = ApiClient.id(api.clone(api.availableImage(imageContent(3 * PC))));

        JsonNode attachment = attachment(disk);

        assertThat(attachment.path("redundancy").asString()).isEqualTo("healthy");
        JsonNode columns = attachment.path("columns");
        assertThat(columns.size()).isEqualTo(3);
        long family = grant(columns.get(0).path("members").get(0)).replica().familyId();
        for (int c = 0; c < 3; c++) {
            JsonNode column = columns.get(c);
            assertThat(column.path("column").asInt()).isEqualTo(c);
            assertThat(column.path("epoch").asLong()).isEqualTo(1);
            assertThat(column.path("members").size()).isEqualTo(3);
            assertThat(memberIds(column)).as("distinct nodes in column " + c).doesNotHaveDuplicates();
            for (JsonNode member : column.path("members")) {
                assertThat(member.path("state").asString()).isEqualTo("in_sync");
                DataGrant grant = grant(member);
                assertThat(grant.access()).isEqualTo(DataAccess.READ_WRITE);
                assertThat(grant.replica()).isEqualTo(new ReplicaEpoch(family, c, 3, 1));
            }
        }

        // what sprig-agent does with a write to PC 1: to every member of column 1, then read from each
        long pc1 = PC;
        for (JsonNode member : columns.get(1).path("members")) {
            assertThat(run("qemu-io", "-f", "raw", "-c", "write -P 0x5a " + pc1 + " 64k", nbd(member)))
                    .contains("wrote 65536/65536");
        }
        for (JsonNode member : columns.get(1).path("members")) {
            assertThat(run("qemu-io", "-f", "raw", "-r", "-c", "read -P 0x5a " + pc1 + " 64k", nbd(member)))
                    .doesNotContain("Pattern verification failed")
                    .contains("read 65536/65536");
            assertThat(run("nbdinfo", "--size", nbd(member))).contains(Long.toString(3L * PC));
        }
    }

    @Test
    @Order(2)
    void theFlatNodesListHasEachColumnsPreferredMemberReadOnly() throws Exception {
        String disk = ApiClient.id(api.clone(api.availableImage(imageContent(3 * PC))));

        JsonNode attachment = attachment(disk);

        JsonNode flat = attachment.path("nodes");
        assertThat(flat.size()).isEqualTo(3);
        for (int c = 0; c < 3; c++) {
            JsonNode column = attachment.path("columns").get(c);
            assertThat(flat.get(c).path("nodeId").asString())
                    .as("column %d reads first from the member at position %d", c, c % 3)
                    .isEqualTo(column.path("members").get(c % 3).path("nodeId").asString());
            DataGrant grant = grant(
                    flat.get(c).path("nodeId").asString(),
                    flat.get(c).path("nbd").asString());
            assertThat(grant.access()).as("more than one copy: read-only").isEqualTo(DataAccess.READ);
            assertThat(grant.replica().column()).isEqualTo(c);
        }
        String column2 = flat.get(2).path("nbd").asString();
        long pc2 = 2L * PC;
        assertThat(runAllowingFailure("qemu-io", "-f", "raw", "-c", "write -P 1 " + pc2 + " 4k", column2))
                .doesNotContain("wrote 4096");
        assertThat(run("qemu-io", "-f", "raw", "-r", "-c", "read " + pc2 + " 4k", column2))
                .contains("read 4096/4096");
    }

    @Test
    @Order(3)
    void diskViewsShowTheCopiesWithoutUrisAPageAtATime() {
        String image = api.availableImage(imageContent(PC));
        String prefix = unique("page");
        HttpResponse<String> batch = api.post(
                "/v1/disks:batchCreate",
                "{\"sourceId\":\"" + image + "\",\"count\":200,\"namePrefix\":\"" + prefix + "\"}");
        assertThat(batch.statusCode()).as(batch.body()).isEqualTo(201);
        assertThat(ApiClient.json(batch)
                        .path("disks")
                        .get(0)
                        .path("replicas")
                        .path("redundancy")
                        .asString())
                .isEqualTo("healthy");

        JsonNode page = ApiClient.json(api.get("/v1/disks?namePrefix=" + prefix + "&pageSize=1000"));

        assertThat(page.path("items").size()).isEqualTo(200);
        for (JsonNode disk : page.path("items")) {
            JsonNode replicas = disk.path("replicas");
            assertThat(replicas.path("redundancy").asString()).isEqualTo("healthy");
            assertThat(replicas.path("columns").size()).isEqualTo(3);
            for (JsonNode column : replicas.path("columns")) {
                assertThat(column.path("members").size()).isEqualTo(3);
                for (JsonNode member : column.path("members")) {
                    assertThat(member.path("state").asString()).isEqualTo("in_sync");
                    assertThat(member.path("nbd").isMissingNode()
                                    || member.path("nbd").isNull())
                            .as("no URI outside attachments: %s", member)
                            .isTrue();
                }
            }
        }
        String one = page.path("items").get(7).path("externId").asString();
        assertThat(ApiClient.json(api.get("/v1/disks/" + one)).path("replicas"))
                .isEqualTo(page.path("items").get(7).path("replicas"));
    }

    @Test
    @Order(4)
    void dropMemberMarksItStaleBumpsTheEpochAndFencesTheOthers() throws Exception {
        degradedDisk = ApiClient.id(api.clone(api.availableImage(imageContent(3 * PC))));
        JsonNode before = attachment(degradedDisk);
        JsonNode column0 = before.path("columns").get(0);
        long family = grant(column0.path("members").get(0)).replica().familyId();
        droppedNode = before.path("nodes").get(0).path("nodeId").asString();
        Map<String, String> oldUris = new HashMap<>();
        column0.path("members")
                .forEach(member -> oldUris.put(member.path("nodeId").asString(), nbd(member)));
        Map<String, long[]> countsBefore = nodeCounts();
        double gaugeBefore = degradedGauge();

        HttpResponse<String> dropped = drop(degradedDisk, 0, droppedNode, 1);

        assertThat(dropped.statusCode()).as(dropped.body()).isEqualTo(200);
        JsonNode after = ApiClient.json(dropped);
        assertThat(after.path("redundancy").asString()).isEqualTo("degraded");
        JsonNode column = after.path("columns").get(0);
        assertThat(column.path("epoch").asLong()).isEqualTo(2);
        List<String> remaining = new ArrayList<>();
        for (JsonNode member : column.path("members")) {
            String nodeId = member.path("nodeId").asString();
            if (nodeId.equals(droppedNode)) {
                assertThat(member.path("state").asString()).isEqualTo("stale");
                assertThat(member.path("nbd").isNull() || member.path("nbd").isMissingNode())
                        .as("no URI for a stale member: %s", member)
                        .isTrue();
            } else {
                remaining.add(nodeId);
                assertThat(member.path("state").asString()).isEqualTo("in_sync");
                assertThat(grant(member).replica()).isEqualTo(new ReplicaEpoch(family, 0, 3, 2));
            }
        }
        assertThat(remaining).hasSize(2);
        assertThat(after.path("nodes").get(0).path("nodeId").asString()).isIn(remaining);
        assertThat(grant(
                                after.path("nodes").get(0).path("nodeId").asString(),
                                after.path("nodes").get(0).path("nbd").asString())
                        .access())
                .as("two copies left: still read-only")
                .isEqualTo(DataAccess.READ);
        for (int c = 1; c < 3; c++) {
            assertThat(after.path("columns").get(c).path("epoch").asLong())
                    .as("column " + c)
                    .isEqualTo(1);
            assertThat(inSyncIds(after.path("columns").get(c)))
                    .as("column " + c)
                    .hasSize(3);
        }

        // the fences were up before the answer: the remaining members refuse the epoch-1 tokens
        for (String nodeId : remaining) {
            assertThat(fenceOf(node(nodeId), family, 0))
                    .as("fence on " + nodeId)
                    .isEqualTo(2);
            assertThat(runAllowingFailure("qemu-io", "-f", "raw", "-r", "-c", "read 0 4k", oldUris.get(nodeId)))
                    .as("an epoch-1 token on " + nodeId)
                    .doesNotContain("read 4096/4096");
            assertThat(run("qemu-io", "-f", "raw", "-r", "-c", "read 0 4k", memberUri(after, 0, nodeId)))
                    .contains("read 4096/4096");
        }

        JsonNode again = attachment(degradedDisk);
        assertThat(again.path("columns").get(0).path("epoch").asLong()).isEqualTo(2);
        assertThat(again.path("redundancy").asString()).isEqualTo("degraded");
        JsonNode view = ApiClient.json(api.get("/v1/disks/" + degradedDisk)).path("replicas");
        assertThat(view.path("redundancy").asString()).isEqualTo("degraded");
        assertThat(view.path("columns").get(0).path("epoch").asLong()).isEqualTo(2);

        Map<String, long[]> countsAfter = nodeCounts();
        for (NodeProcess node : nodes.nodes) {
            boolean inColumn0 = oldUris.containsKey(node.id);
            assertThat(countsAfter.get(node.id)[0])
                    .as("sets of " + node.id)
                    .isEqualTo(countsBefore.get(node.id)[0]);
            assertThat(countsAfter.get(node.id)[1])
                    .as("degraded sets of " + node.id)
                    .isEqualTo(countsBefore.get(node.id)[1] + (inColumn0 ? 1 : 0));
        }
        JsonNode one = ApiClient.json(admin.get("/v1/nodes/" + droppedNode));
        assertThat(one.path("degradedReplicaSets").asLong())
                .isEqualTo(countsAfter.get(droppedNode)[1]);
        assertThat(one.path("replicaSets").asLong()).isEqualTo(countsAfter.get(droppedNode)[0]);
        assertThat(degradedGauge()).isEqualTo(gaugeBefore + 1);
        // the drop's answer carries read-write tokens: it renewed its holder's write lease with them
        Long leases = new org.springframework.jdbc.core.JdbcTemplate(dataSource)
                .queryForObject(
                        "SELECT count(*) FROM write_lease WHERE extern_id = ? AND holder = 'replica-views'"
                                + " AND expires_at > now()",
                        Long.class,
                        degradedDisk);
        assertThat(leases).isEqualTo(1L);
    }

    @Test
    @Order(5)
    void theConsoleShowsEachNodesStateAndReplicaSetsAndTheDegradedSetAsTheApiCountsThem() {
        ConsoleSession console = new ConsoleSession(port, ADMIN);

        assertThat(console.page("/console")).contains("id=\"degraded-sets\">" + (long) degradedGauge() + "<");
        String nodesPage = console.page("/console/nodes");
        for (JsonNode node : ApiClient.json(admin.get("/v1/nodes")).path("items")) {
            String id = node.path("nodeId").asString();
            int start = nodesPage.indexOf("id=\"node-" + id + "\"");
            assertThat(start).as("a row for " + id).isPositive();
            String row = nodesPage.substring(start, nodesPage.indexOf("</tr>", start));
            assertThat(row)
                    .as("the row of " + id)
                    .contains(
                            ">" + node.path("state").asString() + "</td>",
                            "<td>" + node.path("replicaSets").asLong() + "</td>",
                            "<td>" + node.path("degradedReplicaSets").asLong() + "</td>");
        }
        assertThat(console.page("/console/disks/" + degradedDisk))
                .as("the degraded disk's page, its tree drawn")
                .contains("id=\"lineage\"", "class=\"node subject\"");
    }

    @Test
    @Order(6)
    void aSecondDropInTheSameColumnIsInsufficientReplicasAndChangesNothing() {
        JsonNode before = attachment(degradedDisk);
        String survivor = inSyncIds(before.path("columns").get(0)).get(0);

        HttpResponse<String> refused = drop(degradedDisk, 0, survivor, 2);

        assertProblem(refused, 503, "INSUFFICIENT_REPLICAS");
        assertThat(refused.headers().firstValue("Retry-After")).isPresent();
        assertIsTheDocumentedProblem(refused);
        JsonNode after = attachment(degradedDisk);
        assertThat(after.path("columns").get(0).path("epoch").asLong()).isEqualTo(2);
        assertThat(inSyncIds(after.path("columns").get(0)))
                .containsExactlyElementsOf(inSyncIds(before.path("columns").get(0)));
    }

    @Test
    @Order(7)
    void aReportFromAnOlderEpochOrAboutAStaleMemberChangesNothing() {
        JsonNode before = attachment(degradedDisk);
        String survivor = inSyncIds(before.path("columns").get(0)).get(0);

        HttpResponse<String> late = drop(degradedDisk, 0, survivor, 1);
        HttpResponse<String> again = drop(degradedDisk, 0, droppedNode, 2);

        assertThat(late.statusCode()).as(late.body()).isEqualTo(200);
        assertThat(again.statusCode()).as(again.body()).isEqualTo(200);
        for (JsonNode answer : List.of(ApiClient.json(late), ApiClient.json(again), attachment(degradedDisk))) {
            assertThat(answer.path("columns").get(0).path("epoch").asLong()).isEqualTo(2);
            assertThat(inSyncIds(answer.path("columns").get(0)))
                    .containsExactlyElementsOf(inSyncIds(before.path("columns").get(0)));
        }
    }

    @Test
    @Order(8)
    void dropMemberRefusesWhatItCannotMeanWithTheUsualProblems() {
        JsonNode attachment = attachment(degradedDisk);
        List<String> column0 = memberIds(attachment.path("columns").get(0));
        String outsider = nodes.nodes.stream()
                .map(node -> node.id)
                .filter(id -> !column0.contains(id))
                .findFirst()
                .orElseThrow();

        assertProblem(drop("no-such-disk", 0, droppedNode, 1), 404, "NOT_FOUND");
        assertProblem(drop(degradedDisk, 0, outsider, 2), 404, "NOT_FOUND");
        assertProblem(drop(degradedDisk, 7, droppedNode, 2), 404, "NOT_FOUND");
        assertProblem(drop(degradedDisk, 0, column0.get(0), 3), 400, "INVALID_ARGUMENT");
        assertProblem(
                api.post("/v1/disks/" + degradedDisk + "/attachment:dropMember", "{\"column\":0}"),
                400,
                "INVALID_ARGUMENT");
        assertThat(new ApiClient(port, "not-a-key")
                        .post("/v1/disks/" + degradedDisk + "/attachment:dropMember", "{}")
                        .statusCode())
                .isEqualTo(401);
    }

    /**
     * A remaining member that does not take the new fence is a failing member too; with min-in-sync
     * 2 of 3 it cannot be dropped as well, so the answer is 503 and the agent retries.
     */
    @Test
    @Order(9)
    void aMemberThatCannotBeFencedCountsAsFailing() throws Exception {
        String disk = ApiClient.id(api.clone(api.availableImage(imageContent(3 * PC))));
        JsonNode column = attachment(disk).path("columns").get(1);
        List<String> members = memberIds(column);
        NodeProcess hung = node(members.get(1));
        signal("STOP", hung);
        HttpResponse<String> refused;
        try {
            refused = drop(disk, 1, members.get(0), 1);
        } finally {
            signal("CONT", hung);
        }

        assertProblem(refused, 503, "INSUFFICIENT_REPLICAS");
        JsonNode after = attachment(disk).path("columns").get(1);
        assertThat(after.path("epoch").asLong()).as("the first drop stands").isEqualTo(2);
        assertThat(inSyncIds(after)).containsExactly(members.get(1), members.get(2));
        assertThat(fenceOf(
                        node(members.get(2)),
                        grant(column.path("members").get(0)).replica().familyId(),
                        1))
                .isEqualTo(2);
    }

    /**
     * A node that is a member of replica sets may hold the only other copies of their data: it is not
     * removed. One that holds nothing is, and its credential with it.
     */
    @Test
    @Order(10)
    void aNodeIsRemovedOnlyOnceItIsAMemberOfNoReplicaSetAndItsCredentialGoesWithIt() {
        String member = nodes.nodes.get(0).id;
        assertThat(nodeCounts().get(member)[0]).isPositive();

        assertProblem(admin.delete("/v1/nodes/" + member), 409, "INVALID_STATE");
        assertThat(admin.get("/v1/nodes/" + member).statusCode()).isEqualTo(200);

        String spare = "views-spare";
        HttpResponse<String> issued = admin.post("/v1/nodes/" + spare + ":issueCredential", "");
        assertThat(issued.statusCode()).as(issued.body()).isEqualTo(201);
        ApiClient asSpare =
                admin.withKey(ApiClient.json(issued).path("credential").asString());
        String registration = ApiClient.JSON.writeValueAsString(new dev.sprig.nodeapi.RegisterNode(
                "http://127.0.0.1:9", "127.0.0.1", 9, "spare-token-0123456789abcdef", 1L << 30, 0L));
        assertThat(asSpare.putJson("/v1/nodes/" + spare, registration).statusCode())
                .isEqualTo(201);

        assertThat(admin.delete("/v1/nodes/" + spare).statusCode()).isEqualTo(204);

        assertProblem(admin.get("/v1/nodes/" + spare), 404, "NOT_FOUND");
        assertThat(nodeCounts()).doesNotContainKey(spare);
        assertThat(asSpare.putJson("/v1/nodes/" + spare, registration).statusCode())
                .as("the revoked credential registers nothing")
                .isEqualTo(401);
        assertProblem(admin.delete("/v1/nodes/" + spare), 404, "NOT_FOUND");
    }

    /**
     * A heartbeat authenticated just before its node is removed reaches the registry while the
     * removal's transaction has deleted the credential and the node but not committed: it waits for
     * that transaction and then refuses, rather than registering the removed node again (an
     * upsert after the removal's commit brought it back).
     */
    @Test
    @Order(11)
    void aHeartbeatInFlightWhileItsNodeIsRemovedDoesNotBringTheNodeBack() throws Exception {
        String racer = "views-racer";
        HttpResponse<String> issued = admin.post("/v1/nodes/" + racer + ":issueCredential", "");
        assertThat(issued.statusCode()).as(issued.body()).isEqualTo(201);
        Registration beat =
                new Registration("http://127.0.0.1:9", "127.0.0.1", 9, "racer-token-0123456789abcdef", 1L << 30, 0L);
        assertThat(registry.register(racer, beat)).as("registered").isTrue();

        ExecutorService heartbeats = Executors.newSingleThreadExecutor();
        try (Connection removal = dataSource.getConnection()) {
            removal.setAutoCommit(false);
            try (Statement sql = removal.createStatement()) {
                sql.executeUpdate("DELETE FROM node_credential WHERE node_id = '" + racer + "'");
                sql.executeUpdate("DELETE FROM node WHERE node_id = '" + racer + "'");
            }
            CompletableFuture<Boolean> heartbeat =
                    CompletableFuture.supplyAsync(() -> registry.register(racer, beat), heartbeats);
            Thread.sleep(1_000);
            assertThat(heartbeat).as("waiting for the removal's transaction").isNotDone();
            removal.commit();

            assertThatThrownBy(() -> heartbeat.get(30, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(SprigException.NotFound.class)
                    .hasMessageContaining("credential of node " + racer);
        } finally {
            heartbeats.shutdownNow();
        }
        assertProblem(admin.get("/v1/nodes/" + racer), 404, "NOT_FOUND");
    }

    private JsonNode attachment(String disk) {
        HttpResponse<String> response = api.get("/v1/disks/" + disk + "/attachment");
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return ApiClient.json(response);
    }

    private HttpResponse<String> drop(String disk, int column, String nodeId, long epoch) {
        return api.post(
                "/v1/disks/" + disk + "/attachment:dropMember?holder=replica-views",
                "{\"column\":" + column + ",\"nodeId\":\"" + nodeId + "\",\"epoch\":" + epoch + "}");
    }

    /** Per node id: replicaSets and degradedReplicaSets, as GET /v1/nodes says. */
    private Map<String, long[]> nodeCounts() {
        Map<String, long[]> counts = new HashMap<>();
        ApiClient.json(admin.get("/v1/nodes"))
                .path("items")
                .forEach(node -> counts.put(node.path("nodeId").asString(), new long[] {
                    node.path("replicaSets").asLong(-1),
                    node.path("degradedReplicaSets").asLong(-1)
                }));
        return counts;
    }

    private double degradedGauge() {
        return api.gauge("sprig_replica_sets_degraded");
    }

    private static long fenceOf(NodeProcess node, long family, int column) {
        HttpResponse<String> fences = node.get("/v1/fences");
        assertThat(fences.statusCode()).as(fences.body()).isEqualTo(200);
        for (JsonNode fence : ApiClient.json(fences)) {
            if (fence.path("familyId").asLong() == family
                    && fence.path("column").asInt() == column) {
                return fence.path("epoch").asLong();
            }
        }
        return 0;
    }

    private static List<String> memberIds(JsonNode column) {
        List<String> ids = new ArrayList<>();
        column.path("members").forEach(member -> ids.add(member.path("nodeId").asString()));
        return ids;
    }

    private static List<String> inSyncIds(JsonNode column) {
        List<String> ids = new ArrayList<>();
        column.path("members").forEach(member -> {
            if (member.path("state").asString().equals("in_sync")) {
                ids.add(member.path("nodeId").asString());
            }
        });
        return ids;
    }

    private static String memberUri(JsonNode attachment, int column, String nodeId) {
        for (JsonNode member : attachment.path("columns").get(column).path("members")) {
            if (member.path("nodeId").asString().equals(nodeId)) {
                return nbd(member);
            }
        }
        throw new AssertionError(nodeId + " is not in column " + column + " of " + attachment);
    }

    private static String nbd(JsonNode member) {
        String uri = member.path("nbd").asString();
        assertThat(uri).as("an in-sync member's URI: %s", member).startsWith("nbd://");
        return uri;
    }

    private static DataGrant grant(JsonNode member) {
        return grant(member.path("nodeId").asString(), nbd(member));
    }

    /** The grant of the URI's data token, verified with the key of the node it is for. */
    private static DataGrant grant(String nodeId, String nbd) {
        String[] path = URI.create(nbd).getPath().substring(1).split("/");
        return DataTokens.forNodeToken(node(nodeId).token)
                .verify(path[0], Instant.now())
                .orElseThrow(() -> new AssertionError("a token " + nodeId + " does not accept: " + nbd));
    }

    private static NodeProcess node(String nodeId) {
        return nodes.nodes.stream()
                .filter(node -> node.id.equals(nodeId))
                .findFirst()
                .orElseThrow();
    }

    private static void signal(String signal, NodeProcess node) throws Exception {
        new ProcessBuilder("kill", "-" + signal, Long.toString(node.process.pid()))
                .inheritIO()
                .start()
                .waitFor();
    }

    /** Runs a real client and returns what it printed; it must succeed. */
    private static String run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(out).isZero();
        return out;
    }

    /** Runs a real client that is expected to be refused, and returns what it printed. */
    private static String runAllowingFailure(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return out;
    }
}
