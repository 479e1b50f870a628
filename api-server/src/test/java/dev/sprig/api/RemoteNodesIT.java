package dev.sprig.api;

import static dev.sprig.api.ImageAndDiskApiIT.assertProblem;
import static dev.sprig.api.ImageAndDiskApiIT.imageContent;
import static dev.sprig.api.ImageAndDiskApiIT.unique;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.api.StorageNodeProcesses.NodeProcess;
import dev.sprig.api.lineage.Reconciler;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
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
 * api-server on the remote backend, against three real storage-node processes: families striped
 * over the nodes, data routed by the attachment, a killed node failing fast only the requests that
 * need it, and a restarted node serving again.
 */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "sprig.api.api-keys=" + RemoteNodesIT.KEY,
            "sprig.api.admin-keys=" + RemoteNodesIT.ADMIN,
            "sprig.api.backend.type=nodes",
            // drain here only steers placement for a moment; a scan in that moment would move members
            "sprig.api.recovery.enabled=false",
            // one copy per column: what is tested here is the striping (replicas: ReplicatedNodesIT)
            "sprig.api.backend.nodes.replicas=1",
            "sprig.api.nodes.unreachable-after=10m",
            "sprig.api.nodes.down-after=20m",
            // passes are run by the tests themselves
            "sprig.api.reconcile-interval=10m",
            "resilience4j.circuitbreaker.configs.storage-node.wait-duration-in-open-state=1s"
        })
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RemoteNodesIT {

    static final String KEY = "remote-key-0123456789";
    static final String ADMIN = "remote-admin-0123456789";
    static final int MIB = 1 << 20;
    static final int PC = 4 * MIB;

    static StorageNodeProcesses nodes;

    @DynamicPropertySource
    static void dataDirs(DynamicPropertyRegistry registry) {
        TestDataDirs.isolate(registry, "remote-nodes");
        sources = TestDataDirs.fresh("remote-nodes-sources");
        registry.add(
                "sprig.api.image-sources.allowed-prefixes",
                () -> sources.toUri().toString());
    }

    /** A local image store for imports. */
    static Path sources;

    @BeforeAll
    static void threeStorageNodes() {
        Path dir = TestDataDirs.fresh("remote-nodes-processes");
        nodes = new StorageNodeProcesses(3, dir);
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
    Reconciler reconciler;

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
    void aNodeRegistersWithItsOwnCredentialAndRegistrationIsIdempotent() {
        String registration = nodes.node(1).registration();
        assertProblem(api.putJson("/v1/nodes/node1", registration), 403, "PERMISSION_DENIED");
        assertProblem(admin.putJson("/v1/nodes/node1", registration), 403, "PERMISSION_DENIED");
        assertProblem(api.post("/v1/nodes/node1:issueCredential", ""), 403, "PERMISSION_DENIED");
        assertProblem(api.get("/v1/nodes"), 403, "PERMISSION_DENIED");
        assertProblem(admin.post("/v1/nodes/Bad_Id:issueCredential", ""), 400, "INVALID_ARGUMENT");

        HttpResponse<String> issued = admin.post("/v1/nodes/node1:issueCredential", "");
        assertThat(issued.statusCode()).as(issued.body()).isEqualTo(201);
        assertThat(ApiClient.json(issued).path("nodeId").asString()).isEqualTo("node1");
        ApiClient node1 = api.withKey(ApiClient.json(issued).path("credential").asString());
        assertThat(node1.putJson("/v1/nodes/node1", registration).statusCode())
                .as("registration is idempotent")
                .isEqualTo(200);
        assertThat(node1.putJson("/v1/nodes/node2", nodes.node(2).registration())
                        .statusCode())
                .as("node1's credential registering node2")
                .isEqualTo(401);
        assertThat(node1.get("/v1/nodes").statusCode())
                .as("a node credential is no API key")
                .isEqualTo(401);
        assertThat(node1.get("/v1/disks").statusCode()).isEqualTo(401);
        assertThat(node1.post("/v1/nodes/node1:issueCredential", "").statusCode())
                .isEqualTo(401);

        ApiClient reissued = api.withKey(ApiClient.json(admin.post("/v1/nodes/node1:issueCredential", ""))
                .path("credential")
                .asString());
        assertThat(node1.putJson("/v1/nodes/node1", registration).statusCode())
                .as("issuing again revokes the earlier credential")
                .isEqualTo(401);
        assertThat(reissued.putJson("/v1/nodes/node1", registration).statusCode())
                .isEqualTo(200);
        assertThat(admin.delete("/v1/nodes/node1/credential").statusCode()).isEqualTo(204);
        assertThat(reissued.putJson("/v1/nodes/node1", registration).statusCode())
                .as("a revoked credential")
                .isEqualTo(401);
        assertProblem(admin.delete("/v1/nodes/node1/credential"), 404, "NOT_FOUND");
        assertThat(admin.registerNode("node1", registration).statusCode()).isEqualTo(200);

        JsonNode list = ApiClient.json(admin.get("/v1/nodes"));
        List<String> states = new ArrayList<>();
        list.path("items")
                .forEach(node -> states.add(node.path("nodeId").asString() + "="
                        + node.path("state").asString()));
        assertThat(states).containsExactly("node1=up", "node2=up", "node3=up");
        assertThat(list.toString()).doesNotContain(nodes.node(1).token);
    }

    @Test
    @Order(2)
    void bulkClonesAreStripedOverThreeNodesAndDataReadsBackThroughTheAttachmentsRouting() {
        byte[] content = imageContent(4 * PC);
        String image = api.availableImage(content);
        HttpResponse<String> batch = api.post(
                "/v1/disks:batchCreate",
                "{\"sourceId\":\"" + image + "\",\"count\":2500,\"namePrefix\":\"" + unique("fleet") + "\"}");
        assertThat(batch.statusCode()).as(batch.body()).isEqualTo(201);
        JsonNode disks = ApiClient.json(batch).path("disks");
        assertThat(disks.size()).isEqualTo(2500);
        String disk = disks.get(1234).path("externId").asString();

        JsonNode attachment = ApiClient.json(api.get("/v1/disks/" + disk + "/attachment"));
        long lc = attachment.path("lcId").asLong();
        List<String> placement = new ArrayList<>();
        attachment
                .path("nodes")
                .forEach(node -> placement.add(node.path("nodeId").asString()));
        assertThat(placement).containsExactlyInAnyOrder("node1", "node2", "node3");

        for (NodeProcess node : nodes.nodes) {
            assertThat(node.lcIds())
                    .as("every lc of the family is defined on " + node.id)
                    .contains(lc)
                    .hasSizeGreaterThan(2500);
        }
        for (int pc = 0; pc < 4; pc++) {
            String holderId = placement.get(pc % placement.size());
            NodeProcess holder = nodes.nodes.stream()
                    .filter(n -> n.id.equals(holderId))
                    .findFirst()
                    .orElseThrow();
            byte[] read = holder.read(lc, (long) pc * PC, PC).body();
            assertThat(Arrays.equals(read, Arrays.copyOfRange(content, pc * PC, (pc + 1) * PC)))
                    .as("PC " + pc + " of the clone reads the image through " + holder.id)
                    .isTrue();
            for (NodeProcess other : nodes.nodes) {
                if (other != holder) {
                    assertThat(other.read(lc, (long) pc * PC, 4096).body())
                            .as("PC " + pc + " is not stored on " + other.id)
                            .containsOnly(0);
                }
            }
        }
    }

    @Test
    @Order(3)
    void aKilledNodeFailsFastOnlyTheRequestsThatNeedItAndServesAgainOnceRestarted() {
        String everywhere = api.availableImage(imageContent(MIB));
        admin.post("/v1/nodes/node1:drain", "");
        String elsewhere = api.availableImage(imageContent(MIB));
        admin.post("/v1/nodes/node1:undrain", "");
        JsonNode doomed = api.clone(everywhere);
        long doomedLc = doomed.path("lcId").asLong();
        NodeProcess node1 = nodes.node(1);
        node1.kill();
        try {
            long t0 = System.nanoTime();
            HttpResponse<String> refused = api.tryClone(everywhere);
            long millis = (System.nanoTime() - t0) / 1_000_000;

            assertProblem(refused, 503, "NODE_UNAVAILABLE");
            assertThat(ApiClient.json(refused).path("node").asString()).isEqualTo("node1");
            assertThat(refused.headers().firstValue("Retry-After")).isPresent();
            assertThat(millis).as("answered within a second").isLessThan(1000);
            assertThat(api.tryClone(everywhere).statusCode())
                    .as("again, with the circuit open")
                    .isEqualTo(503);
            assertThat(api.tryClone(elsewhere).statusCode())
                    .as("a family on node2 and node3")
                    .isEqualTo(201);
            assertThat(api.get("/v1/disks").statusCode()).isEqualTo(200);
            // the metadata goes at once; node1 misses the deletion of the disk's lc while it is down
            assertThat(api.delete("/v1/disks/" + ApiClient.id(doomed)).statusCode())
                    .isEqualTo(204);
        } finally {
            node1.start();
            node1.awaitUp();
        }
        // the circuit half-opens after a second and closes after two calls that succeed; on a slow
        // machine the restarted node's first call may still miss its 300 ms and open it again, for
        // another second: what must hold is that requests succeed again soon, not on the first try
        HttpResponse<String> again = api.tryClone(everywhere);
        long until = System.nanoTime() + 20_000_000_000L;
        while (again.statusCode() != 201 && System.nanoTime() < until) {
            StorageNodeProcesses.sleep(300);
            again = api.tryClone(everywhere);
        }
        assertThat(again.statusCode()).as(again.body()).isEqualTo(201);
        // and they go on succeeding: two in a row, the circuit closed (a cold node's call that still
        // misses 300 ms under load opens it for one more second: CI saw it)
        int inARow = 0;
        while (inARow < 2 && System.nanoTime() < until + 20_000_000_000L) {
            inARow = api.tryClone(everywhere).statusCode() == 201 ? inARow + 1 : 0;
            if (inARow < 2) {
                StorageNodeProcesses.sleep(300);
            }
        }
        assertThat(inARow).as("clones in a row once node1 is back").isEqualTo(2);

        assertThat(node1.get("/v1/lcs/" + doomedLc).statusCode())
                .as("still on the restarted node")
                .isEqualTo(200);
        assertThat(reconciler.reconcile().orphansDeleted()).contains(doomedLc);
        for (NodeProcess node : nodes.nodes) {
            assertThat(node.get("/v1/lcs/" + doomedLc).statusCode()).isEqualTo(404);
        }
    }

    @Test
    @Order(4)
    void aNodeThatHangsFailsTheRequestsThatNeedItWithinASecondToo() throws Exception {
        String image = api.availableImage(imageContent(MIB));
        NodeProcess node3 = nodes.node(3);
        signal("STOP", node3);
        try {
            long t0 = System.nanoTime();
            HttpResponse<String> refused = api.tryClone(image);
            long millis = (System.nanoTime() - t0) / 1_000_000;

            assertProblem(refused, 503, "NODE_UNAVAILABLE");
            assertThat(ApiClient.json(refused).path("node").asString()).isEqualTo("node3");
            assertThat(millis).as("answered within a second").isLessThan(1000);
        } finally {
            signal("CONT", node3);
        }
        StorageNodeProcesses.sleep(1200);
        assertThat(api.tryClone(image).statusCode()).isEqualTo(201);
    }

    @Test
    @Order(5)
    void snapshotsAndClonesOfThemStayOnTheirFamilysNodes() {
        String image = api.availableImage(imageContent(2 * PC));
        JsonNode disk = ApiClient.json(api.tryClone(image));
        HttpResponse<String> snapshot = api.post(
                "/v1/disks/" + disk.path("externId").asString() + "/snapshots", "{\"name\":\"" + unique("s") + "\"}");
        assertThat(snapshot.statusCode()).as(snapshot.body()).isEqualTo(201);
        HttpResponse<String> fromSnapshot =
                api.tryClone(ApiClient.json(snapshot).path("externId").asString());
        assertThat(fromSnapshot.statusCode()).as(fromSnapshot.body()).isEqualTo(201);

        long snapshotLc = ApiClient.json(snapshot).path("lcId").asLong();
        long cloneLc = ApiClient.json(fromSnapshot).path("lcId").asLong();
        for (NodeProcess node : nodes.nodes) {
            JsonNode frozen = ApiClient.json(node.get("/v1/lcs/" + snapshotLc));
            assertThat(frozen.path("frozen").asBoolean())
                    .as("snapshot frozen on " + node.id)
                    .isTrue();
            assertThat(ApiClient.json(node.get("/v1/lcs/" + cloneLc))
                            .path("parentLcId")
                            .asLong())
                    .isEqualTo(snapshotLc);
        }
    }

    @Test
    @Order(6)
    void theReconcilerDeletesFromTheNodesAnLcTheDatabaseNeverCommitted() {
        long orphan = jdbc.queryForObject("SELECT nextval('lc_id_seq')", Long.class);
        NodeProcess node2 = nodes.node(2);
        node2.post("/v1/lcs:batchDefine", "{\"lcs\":[{\"lcId\":" + orphan + ",\"sizeBytes\":4194304}]}");

        Reconciler.Report report = reconciler.reconcile();

        assertThat(report.orphansDeleted()).contains(orphan);
        assertThat(node2.get("/v1/lcs/" + orphan).statusCode()).isEqualTo(404);
    }

    @Test
    @Order(7)
    void aFlattenedCloneHasNoParentOnAnyNodeAndKeepsItsImagesBytes() {
        byte[] content = imageContent(3 * PC);
        String image = api.availableImage(content);
        JsonNode disk = api.clone(image);
        long lc = disk.path("lcId").asLong();

        HttpResponse<String> started = api.action("/v1/disks/" + ApiClient.id(disk) + ":flatten");
        assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
        String operation = ApiClient.json(started).path("id").asString();
        JsonNode finished = ApiClient.json(api.get("/v1/operations/" + operation));
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (finished.path("state").asString().equals("running") && System.nanoTime() < deadline) {
            StorageNodeProcesses.sleep(50);
            finished = ApiClient.json(api.get("/v1/operations/" + operation));
        }

        assertThat(finished.path("state").asString()).as(finished.toString()).isEqualTo("succeeded");
        assertThat(finished.path("done").asLong())
                .isEqualTo(finished.path("total").asLong());
        List<String> placement = new ArrayList<>();
        ApiClient.json(api.get("/v1/disks/" + ApiClient.id(disk) + "/attachment"))
                .path("nodes")
                .forEach(node -> placement.add(node.path("nodeId").asString()));
        for (NodeProcess node : nodes.nodes) {
            assertThat(ApiClient.json(node.get("/v1/lcs/" + lc))
                            .path("parentLcId")
                            .isNull())
                    .as("no parent on " + node.id)
                    .isTrue();
        }
        assertReadsThroughPlacement(lc, placement, content);
        assertThat(api.delete("/v1/images/" + image).statusCode())
                .as("nothing reads the image now")
                .isEqualTo(204);
    }

    @Test
    @Order(8)
    void anImportedImageIsStripedOverTheNodesEvictedFromThemAndImportedAgainForItsNextClone() throws Exception {
        byte[] content = imageContent(3 * PC);
        Path file = sources.resolve("striped.raw");
        Files.write(file, content);
        HttpResponse<String> accepted = api.post(
                "/v1/images", "{\"name\":\"" + unique("striped") + "\",\"source\":{\"url\":\"" + file.toUri() + "\"}}");
        assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
        String image = ApiClient.id(ApiClient.json(accepted));
        JsonNode imported =
                api.awaitFinished(ApiClient.json(accepted).path("operationId").asString());
        assertThat(imported.path("state").asString()).as(imported.toString()).isEqualTo("succeeded");
        long firstCopy =
                ApiClient.json(api.get("/v1/images/" + image)).path("lcId").asLong();

        assertThat(admin.action("/v1/images/" + image + ":evict").statusCode()).isEqualTo(204);
        for (NodeProcess node : nodes.nodes) {
            assertThat(node.lcIds())
                    .as("the evicted copy is gone from " + node.id)
                    .doesNotContain(firstCopy);
        }

        JsonNode disk = api.clone(image);
        JsonNode attachment = ApiClient.json(api.get("/v1/disks/" + ApiClient.id(disk) + "/attachment"));
        long lc = attachment.path("lcId").asLong();
        List<String> placement = new ArrayList<>();
        attachment
                .path("nodes")
                .forEach(node -> placement.add(node.path("nodeId").asString()));
        assertReadsThroughPlacement(lc, placement, content);
        JsonNode view = ApiClient.json(api.get("/v1/images/" + image));
        assertThat(view.path("cached").asBoolean()).isTrue();
        assertThat(view.path("lcId").asLong()).isNotEqualTo(firstCopy);
    }

    /** Each PC of {@code lc} reads {@code content}'s bytes on the node the placement gives it. */
    private static void assertReadsThroughPlacement(long lc, List<String> placement, byte[] content) {
        for (int pc = 0; pc < content.length / PC; pc++) {
            String holderId = placement.get(pc % placement.size());
            NodeProcess holder = nodes.nodes.stream()
                    .filter(n -> n.id.equals(holderId))
                    .findFirst()
                    .orElseThrow();
            assertThat(Arrays.equals(
                            holder.read(lc, (long) pc * PC, PC).body(),
                            Arrays.copyOfRange(content, pc * PC, (pc + 1) * PC)))
                    .as("PC " + pc + " of lc " + lc + " on " + holderId)
                    .isTrue();
        }
    }

    private static void signal(String signal, NodeProcess node) throws Exception {
        new ProcessBuilder("kill", "-" + signal, Long.toString(node.process.pid()))
                .inheritIO()
                .start()
                .waitFor();
    }
}
