package dev.sprig.api;

import static dev.sprig.api.ImageAndDiskApiIT.imageContent;
import static dev.sprig.api.ImageAndDiskApiIT.unique;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * api-server alone is a whole system: a disk's attachment leads a real NBD client (qemu-img, qemu-io,
 * nbdinfo) to the disk's bytes, served by the embedded engine, with a data token that opens that
 * disk's lc alone; the node token, api-server's control credential, is never in it.
 */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"sprig.api.api-keys=" + AttachmentIT.KEY, "sprig.node.token=" + AttachmentIT.NODE_TOKEN})
class AttachmentIT {

    static final String KEY = "attach-key-0123456789";
    static final String NODE_TOKEN = "attachment-node-token";
    static final int MIB = 1 << 20;
    static Path dir;

    @DynamicPropertySource
    static void dataDirs(DynamicPropertyRegistry registry) {
        dir = TestDataDirs.isolate(registry, "attachment");
    }

    @LocalServerPort
    int port;

    ApiClient api;
    String imageId;
    byte[] imageBytes;

    @BeforeEach
    void anAvailableImage() {
        api = new ApiClient(port, KEY);
        imageBytes = imageContent(4 * MIB);
        imageId = api.availableImage(imageBytes);
    }

    @Test
    void anNbdClientReadsAFreshCloneAsItsImageAndWritesOnlyTheClone() throws Exception {
        String disk = newDisk();

        JsonNode attachment = ApiClient.json(api.get("/v1/disks/" + disk + "/attachment"));

        assertThat(attachment.path("pcSizeBytes").asLong()).isEqualTo(4L * MIB);
        assertThat(attachment.path("segmentSizeBytes").asInt()).isEqualTo(256 * 1024);
        assertThat(attachment.path("access").asString()).isEqualTo("read-write");
        String nbd = attachment.path("nodes").get(0).path("nbd").asString();
        Path copy = dir.resolve("copy-" + disk + ".raw");
        run("qemu-img", "convert", "-f", "raw", "-O", "raw", nbd, copy.toString());
        assertThat(Files.readAllBytes(copy)).isEqualTo(imageBytes);

        run("qemu-io", "-f", "raw", "-c", "write -P 0x5a 0 64k", "-c", "flush", nbd);

        assertThat(run("qemu-io", "-f", "raw", "-r", "-c", "read -P 0x5a 0 64k", nbd))
                .doesNotContain("Pattern verification failed");
        String sibling = ApiClient.json(api.get("/v1/disks/" + newDisk() + "/attachment"))
                .path("nodes")
                .get(0)
                .path("nbd")
                .asString();
        run("qemu-img", "convert", "-f", "raw", "-O", "raw", sibling, copy.toString());
        assertThat(Files.readAllBytes(copy)).as("the image is untouched").isEqualTo(imageBytes);
    }

    @Test
    void theAttachmentCarriesADataTokenForItsLcAndNeverTheNodeToken() throws Exception {
        String disk = newDisk();
        Instant before = Instant.now();
        HttpResponse<String> response = api.get("/v1/disks/" + disk + "/attachment");
        JsonNode attachment = ApiClient.json(response);
        String nbd = attachment.path("nodes").get(0).path("nbd").asString();
        String exportName = URI.create(nbd).getPath().substring(1);
        String dataToken = exportName.substring(0, exportName.lastIndexOf('/'));

        assertThat(response.body()).doesNotContain(NODE_TOKEN);
        assertThat(exportName).endsWith("/" + attachment.path("lcId").asLong());
        assertThat(Instant.parse(attachment.path("expiresAt").asString()))
                .isBetween(before.plus(Duration.ofMinutes(59)), Instant.now().plus(Duration.ofMinutes(61)));
        long imageLc =
                ApiClient.json(api.get("/v1/images/" + imageId)).path("lcId").asLong();
        assertThat(runAllowingFailure("nbdinfo", "--size", nbd.substring(0, nbd.lastIndexOf('/') + 1) + imageLc))
                .as("the token names the disk's lc and no other")
                .doesNotContain(Long.toString(4L * MIB));
        String data = "/v1/lcs/" + attachment.path("lcId").asLong() + "/data?offset=0&length=16";
        assertThat(nodeGet(data, dataToken).statusCode())
                .as("a data token on the node API")
                .isEqualTo(401);
        assertThat(nodeGet("/v1/lcs", dataToken).statusCode()).isEqualTo(401);
        assertThat(nodeGet(data, KEY).statusCode())
                .as("an API key on the node API")
                .isEqualTo(401);
        assertThat(nodeGet(data, "").statusCode()).isEqualTo(401);
        assertThat(nodeGet(data, NODE_TOKEN).statusCode())
                .as("api-server's own credential")
                .isEqualTo(200);
        assertThat(api.withKey("").get("/v1/disks/" + disk + "/attachment").statusCode())
                .isEqualTo(401);
    }

    /** One copy: no replica sets to list, and no member to drop. */
    @Test
    void theEmbeddedBackendsAttachmentHasNoColumnsAndNoMemberToDrop() {
        String disk = newDisk();
        JsonNode attachment = ApiClient.json(api.get("/v1/disks/" + disk + "/attachment"));

        assertThat(attachment.path("redundancy").isNull()
                        || attachment.path("redundancy").isMissingNode())
                .as(attachment.toString())
                .isTrue();
        assertThat(attachment.path("columns").isArray()).isTrue();
        assertThat(attachment.path("columns").size()).isZero();
        JsonNode view = ApiClient.json(api.get("/v1/disks/" + disk));
        assertThat(view.path("replicas").isNull() || view.path("replicas").isMissingNode())
                .as(view.toString())
                .isTrue();
        HttpResponse<String> refused = api.post(
                "/v1/disks/" + disk + "/attachment:dropMember", "{\"column\":0,\"nodeId\":\"embedded\",\"epoch\":1}");
        ImageAndDiskApiIT.assertProblem(refused, 409, "INVALID_STATE");
        ProblemResponsesIT.assertIsTheDocumentedProblem(refused);
    }

    @Test
    void aReadOnlyAttachmentOpensTheDiskReadOnly() throws Exception {
        String disk = newDisk();
        JsonNode attachment = ApiClient.json(api.get("/v1/disks/" + disk + "/attachment?access=read-only"));
        String nbd = attachment.path("nodes").get(0).path("nbd").asString();

        assertThat(attachment.path("access").asString()).isEqualTo("read-only");
        assertThat(runAllowingFailure("qemu-io", "-f", "raw", "-c", "write -P 1 0 4k", nbd))
                .doesNotContain("wrote 4096");
        assertThat(run("qemu-io", "-f", "raw", "-r", "-c", "read -v 0 16", nbd)).contains("read 16/16");
        assertThat(api.get("/v1/disks/" + disk + "/attachment?access=everything")
                        .statusCode())
                .isEqualTo(400);
    }

    @Test
    void afterASnapshotTheAttachmentMovesAndTheOldLcIsReadOnly() throws Exception {
        String disk = ApiClient.json(
                        api.post("/v1/disks", "{\"name\":\"" + unique("vm") + "\",\"sourceId\":\"" + imageId + "\"}"))
                .path("externId")
                .asString();
        String before = ApiClient.json(api.get("/v1/disks/" + disk + "/attachment"))
                .path("nodes")
                .get(0)
                .path("nbd")
                .asString();

        api.post("/v1/disks/" + disk + "/snapshots", "{\"name\":\"" + unique("s") + "\"}");
        String after = ApiClient.json(api.get("/v1/disks/" + disk + "/attachment"))
                .path("nodes")
                .get(0)
                .path("nbd")
                .asString();

        assertThat(after).isNotEqualTo(before);
        String refused = runAllowingFailure("qemu-io", "-f", "raw", "-c", "write -P 1 0 4k", before);
        assertThat(refused).containsIgnoringCase("permission denied").doesNotContain("wrote 4096");
        assertThat(run("qemu-io", "-f", "raw", "-c", "write -P 1 0 4k", after)).contains("wrote 4096");
    }

    private String newDisk() {
        return ApiClient.json(
                        api.post("/v1/disks", "{\"name\":\"" + unique("vm") + "\",\"sourceId\":\"" + imageId + "\"}"))
                .path("externId")
                .asString();
    }

    /** The embedded node API, on api-server's own port. */
    private HttpResponse<byte[]> nodeGet(String path, String token) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
        if (!token.isEmpty()) {
            request.header("Authorization", "Bearer " + token);
        }
        return HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    /** Runs a real client and returns what it printed; it must succeed. */
    private static String run(String... command) throws Exception {
        Process process = start(command);
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(out).isZero();
        return out;
    }

    /** Runs a real client that is expected to be refused, and returns what it printed. */
    private static String runAllowingFailure(String... command) throws Exception {
        Process process = start(command);
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return out;
    }

    private static Process start(String... command) throws java.io.IOException {
        return new ProcessBuilder(List.of(command)).redirectErrorStream(true).start();
    }
}
