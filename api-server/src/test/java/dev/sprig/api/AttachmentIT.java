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
import java.util.Arrays;
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
 * api-server alone is a whole system: a disk's attachment leads a real NBD client (qemu-img, qemu-io)
 * and the node HTTP API to the disk's bytes, served by the embedded engine.
 */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"sprig.api.api-keys=" + AttachmentIT.KEY, "sprig.node.token=attachment-node-token"})
class AttachmentIT {

    static final String KEY = "attach-key-0123456789";
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
        String disk = ApiClient.json(
                        api.post("/v1/disks", "{\"name\":\"" + unique("vm") + "\",\"sourceId\":\"" + imageId + "\"}"))
                .path("externId")
                .asString();

        JsonNode attachment = ApiClient.json(api.get("/v1/disks/" + disk + "/attachment"));

        assertThat(attachment.path("pcSizeBytes").asLong()).isEqualTo(4L * MIB);
        assertThat(attachment.path("segmentSizeBytes").asInt()).isEqualTo(256 * 1024);
        JsonNode node = attachment.path("nodes").get(0);
        String nbd = node.path("nbd").asString();
        Path copy = dir.resolve("copy-" + disk + ".raw");
        run("qemu-img", "convert", "-f", "raw", "-O", "raw", nbd, copy.toString());
        assertThat(Files.readAllBytes(copy)).isEqualTo(imageBytes);

        run("qemu-io", "-f", "raw", "-c", "write -P 0x5a 0 64k", "-c", "flush", nbd);

        HttpResponse<byte[]> read = nodeGet(
                node,
                "/v1/lcs/" + attachment.path("lcId").asLong() + "/data?offset=0&length=65536",
                node.path("token").asString());
        assertThat(read.statusCode()).isEqualTo(200);
        byte[] expected = new byte[65536];
        Arrays.fill(expected, (byte) 0x5a);
        assertThat(read.body()).isEqualTo(expected);
        run(
                "qemu-img",
                "convert",
                "-f",
                "raw",
                "-O",
                "raw",
                nbd.substring(0, nbd.lastIndexOf('/') + 1)
                        + ApiClient.json(api.get("/v1/images/" + imageId))
                                .path("lcId")
                                .asLong(),
                copy.toString());
        assertThat(Files.readAllBytes(copy)).as("the image is untouched").isEqualTo(imageBytes);
    }

    @Test
    void theNodeApiTakesTheNodeTokenNotAnApiKey() throws Exception {
        String disk = ApiClient.json(
                        api.post("/v1/disks", "{\"name\":\"" + unique("vm") + "\",\"sourceId\":\"" + imageId + "\"}"))
                .path("externId")
                .asString();
        JsonNode attachment = ApiClient.json(api.get("/v1/disks/" + disk + "/attachment"));
        JsonNode node = attachment.path("nodes").get(0);
        String data = "/v1/lcs/" + attachment.path("lcId").asLong() + "/data?offset=0&length=16";

        assertThat(nodeGet(node, data, KEY).statusCode()).isEqualTo(401);
        assertThat(nodeGet(node, data, "").statusCode()).isEqualTo(401);
        assertThat(nodeGet(node, data, node.path("token").asString()).statusCode())
                .isEqualTo(200);
        assertThat(api.withKey("").get("/v1/disks/" + disk + "/attachment").statusCode())
                .isEqualTo(401);
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

    private HttpResponse<byte[]> nodeGet(JsonNode node, String path, String token) throws Exception {
        HttpRequest.Builder request =
                HttpRequest.newBuilder(URI.create(node.path("http").asString() + path));
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
