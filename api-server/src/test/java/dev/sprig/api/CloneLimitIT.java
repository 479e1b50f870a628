package dev.sprig.api;

import static dev.sprig.api.ImageAndDiskApiIT.assertProblem;
import static dev.sprig.api.ImageAndDiskApiIT.imageContent;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.api.StorageNodeProcesses.NodeProcess;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * The clone limit on two storage-node processes, each family on one node: past
 * {@code sprig.cache.max-clones-per-copy} clones, another copy of the image is made on the other
 * node (an operation with progress), and new clones go to the copy with the fewest.
 */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "sprig.api.api-keys=" + CloneLimitIT.KEY,
            "sprig.api.admin-keys=" + CloneLimitIT.ADMIN,
            "sprig.api.backend.type=nodes",
            "sprig.api.backend.nodes.stripe-width=1",
            // a copy apart needs nodes apart: one each, on two nodes
            "sprig.api.backend.nodes.replicas=1",
            // a cold node on a loaded machine can take longer than the default 300 ms to define
            "sprig.api.backend.nodes.call-timeout=3s",
            "sprig.api.nodes.unreachable-after=10m",
            "sprig.api.nodes.down-after=20m",
            "sprig.api.reconcile-interval=10m",
            "sprig.cache.max-clones-per-copy=3"
        })
class CloneLimitIT {

    static final String KEY = "limit-key-0123456789";
    static final String ADMIN = "limit-admin-0123456789";
    static final int PC = 4 << 20;

    static StorageNodeProcesses nodes;

    @DynamicPropertySource
    static void dataDirs(DynamicPropertyRegistry registry) {
        TestDataDirs.isolate(registry, "clone-limit");
        sources = TestDataDirs.fresh("clone-limit-sources");
        registry.add(
                "sprig.api.image-sources.allowed-prefixes",
                () -> sources.toUri().toString());
    }

    /** Where file: sources live. */
    static Path sources;

    @BeforeAll
    static void twoStorageNodes() {
        Path dir = TestDataDirs.fresh("clone-limit-processes");
        nodes = new StorageNodeProcesses(2, dir);
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
    JdbcTemplate jdbc;

    @Test
    void pastTheLimitAnotherCopyIsMadeOnTheOtherNodeAndNewClonesGoToTheLeastLoadedCopy() throws Exception {
        ApiClient api = new ApiClient(port, KEY);
        ApiClient admin = api.withKey(ADMIN);
        for (NodeProcess node : nodes.nodes) {
            assertThat(admin.registerNode(node.id, node.registration()).statusCode())
                    .isIn(200, 201);
        }
        byte[] content = imageContent(3 * PC);
        String image = api.availableImage(content);
        long firstCopy =
                ApiClient.json(api.get("/v1/images/" + image)).path("lcId").asLong();
        String firstNode = nodeOf(api, ApiClient.id(api.clone(image)));

        List<String> disks = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            JsonNode disk = api.clone(image);
            disks.add(ApiClient.id(disk));
            assertThat(disk.path("lcId").asLong()).isPositive();
        }
        // four clones on one copy, over the limit of three: another copy is being made
        String copyOperation = awaitCopyOperation(image);
        JsonNode copied = api.awaitFinished(copyOperation);
        assertThat(copied.path("state").asString()).as(copied.toString()).isEqualTo("succeeded");
        assertThat(copied.path("kind").asString()).isEqualTo("copy");
        assertThat(copied.path("unit").asString()).isEqualTo("pcs");
        assertThat(copied.path("done").asLong()).isEqualTo(3);

        JsonNode view = ApiClient.json(api.get("/v1/images/" + image));
        assertThat(view.path("copies").asInt()).isEqualTo(2);
        assertThat(view.path("cloneCount").asLong()).isEqualTo(4);
        assertThat(ApiClient.json(api.get("/v1/cache"))
                        .path("copiesOverCloneLimit")
                        .asLong())
                .isEqualTo(1);

        // the next clones go to the new copy, on the other node, and read the image's bytes there
        JsonNode onNewCopy = api.clone(image);
        String secondNode = nodeOf(api, ApiClient.id(onNewCopy));
        assertThat(secondNode).isNotEqualTo(firstNode);
        long lc = onNewCopy.path("lcId").asLong();
        NodeProcess holder = nodes.nodes.stream()
                .filter(node -> node.id.equals(secondNode))
                .findFirst()
                .orElseThrow();
        for (int pc = 0; pc < 3; pc++) {
            assertThat(Arrays.equals(
                            holder.read(lc, (long) pc * PC, PC).body(),
                            Arrays.copyOfRange(content, pc * PC, (pc + 1) * PC)))
                    .as("PC " + pc + " of a clone of the second copy")
                    .isTrue();
        }
        long secondCopy = jdbc.queryForObject("SELECT parent_lc_id FROM lc WHERE lc_id = ?", Long.class, lc);
        assertThat(secondCopy).isNotEqualTo(firstCopy);

        // a deferred delete while only the second copy is read: the image goes with its last clone
        assertProblem(api.delete("/v1/images/" + image), 409, "HAS_DEPENDENTS");
        for (String disk : jdbc.queryForList("SELECT extern_id FROM resource WHERE kind = 'disk'", String.class)) {
            if (!disk.equals(ApiClient.id(onNewCopy))) {
                assertThat(api.delete("/v1/disks/" + disk).statusCode()).isEqualTo(204);
            }
        }
        assertThat(api.delete("/v1/images/" + image + "?deferred=true").statusCode())
                .isEqualTo(204);
        assertProblem(api.get("/v1/images/" + image), 404, "NOT_FOUND");
        assertThat(api.delete("/v1/disks/" + ApiClient.id(onNewCopy)).statusCode())
                .isEqualTo(204);
        assertThat(jdbc.queryForObject("SELECT count(*) FROM lc", Long.class)).isZero();
        assertThat(jdbc.queryForObject("SELECT count(*) FROM resource", Long.class))
                .isZero();
        for (NodeProcess node : nodes.nodes) {
            assertThat(node.lcIds()).as("lcs left on " + node.id).isEmpty();
        }
    }

    /**
     * Issue 17: the copy past the clone limit visits only the PCs the image holds data in, so an
     * image of the largest size (64 TiB, 16M PCs) with three PCs of data is copied in three node to
     * node copies, not sixteen million.
     */
    @Test
    void aCopyOfA64TiBImageWithLittleDataTakesWorkInProportionToItsData() throws Exception {
        ApiClient api = new ApiClient(port, KEY);
        ApiClient admin = api.withKey(ADMIN);
        for (NodeProcess node : nodes.nodes) {
            assertThat(admin.registerNode(node.id, node.registration()).statusCode())
                    .isIn(200, 201);
        }
        long size = 64L << 40;
        long far = 1L << 40; // PC 262144
        Path qcow2 = sources.resolve("huge.qcow2");
        run("qemu-img", "create", "-f", "qcow2", qcow2.toString(), Long.toString(size));
        run(
                "qemu-io",
                "-f",
                "qcow2",
                "-c",
                "write -P 0x11 0 1M",
                "-c",
                "write -P 0x22 8M 64k",
                "-c",
                "write -P 0x33 " + far + " 64k",
                qcow2.toString());
        HttpResponse<String> started = api.post(
                "/v1/images",
                "{\"name\":\"" + ImageAndDiskApiIT.unique("huge") + "\",\"source\":{\"url\":\"" + qcow2.toUri()
                        + "\"},\"format\":\"qcow2\"}");
        assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
        String image = ApiClient.id(ApiClient.json(started));
        JsonNode imported =
                api.awaitFinished(ApiClient.json(started).path("operationId").asString());
        assertThat(imported.path("state").asString()).as(imported.toString()).isEqualTo("succeeded");
        assertThat(ApiClient.json(api.get("/v1/images/" + image))
                        .path("sizeBytes")
                        .asLong())
                .isEqualTo(size);

        List<String> disks = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            disks.add(ApiClient.id(api.clone(image)));
        }
        long began = System.nanoTime();
        JsonNode copied = api.awaitFinished(awaitCopyOperation(image));
        long took = (System.nanoTime() - began) / 1_000_000;

        assertThat(copied.path("state").asString()).as(copied.toString()).isEqualTo("succeeded");
        assertThat(copied.path("done").asLong()).as("PCs visited").isEqualTo(3);
        assertThat(copied.path("total").asLong()).isEqualTo(3);
        assertThat(took).as("ms to copy 64 TiB holding three PCs of data").isLessThan(20_000);
        JsonNode onNewCopy = api.clone(image);
        disks.add(ApiClient.id(onNewCopy));
        long lc = onNewCopy.path("lcId").asLong();
        String secondNode = nodeOf(api, ApiClient.id(onNewCopy));
        NodeProcess holder = nodes.nodes.stream()
                .filter(node -> node.id.equals(secondNode))
                .findFirst()
                .orElseThrow();
        assertThat(holder.read(lc, 0, 1 << 20).body()).containsOnly(0x11);
        assertThat(holder.read(lc, 1 << 20, 1 << 20).body()).containsOnly(0);
        assertThat(holder.read(lc, 8 << 20, 64 << 10).body()).containsOnly(0x22);
        assertThat(holder.read(lc, far, 64 << 10).body()).containsOnly(0x33);
        assertThat(holder.read(lc, far + (64 << 10), 64 << 10).body()).containsOnly(0);
        assertThat(holder.read(lc, size - PC, PC).body()).containsOnly(0);

        for (String disk : disks) {
            assertThat(api.delete("/v1/disks/" + disk).statusCode()).isEqualTo(204);
        }
        assertThat(api.delete("/v1/images/" + image).statusCode()).isEqualTo(204);
    }

    private static void run(String... command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        if (process.waitFor() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + output);
        }
    }

    private static String nodeOf(ApiClient api, String disk) {
        JsonNode attachment = ApiClient.json(api.get("/v1/disks/" + disk + "/attachment"));
        assertThat(attachment.path("nodes")).hasSize(1);
        return attachment.path("nodes").get(0).path("nodeId").asString();
    }

    private String awaitCopyOperation(String image) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (System.nanoTime() < deadline) {
            List<String> found = jdbc.queryForList(
                    "SELECT operation_id FROM operation WHERE kind = 'copy' AND target_extern_id = ?",
                    String.class,
                    image);
            if (!found.isEmpty()) {
                assertThat(found).hasSize(1);
                return found.get(0);
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no copy of " + image + " was started");
    }
}
