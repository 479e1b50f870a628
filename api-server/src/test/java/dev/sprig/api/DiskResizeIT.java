package dev.sprig.api;

import static dev.sprig.api.ImageAndDiskApiIT.assertProblem;
import static dev.sprig.api.ImageAndDiskApiIT.imageContent;
import static dev.sprig.api.ImageAndDiskApiIT.unique;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.engine.ChunkEngine;
import java.net.http.HttpResponse;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/** {@code POST /v1/disks/{id}:resize} on the embedded backend: a disk grows, and nothing else does. */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "sprig.api.api-keys=" + DiskResizeIT.KEY)
class DiskResizeIT {

    static final String KEY = "resize-key-0123456789";
    static final int MIB = 1 << 20;

    @DynamicPropertySource
    static void dataDirs(DynamicPropertyRegistry registry) {
        TestDataDirs.isolate(registry, "disk-resize");
    }

    @LocalServerPort
    int port;

    @Autowired
    ChunkEngine engine;

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
    void aDiskGrowsKeepingItsBytesAndItsNewBytesReadAsZeros() {
        JsonNode disk = api.clone(imageId);
        long lc = disk.path("lcId").asLong();
        engine.write(lc, 0, new byte[] {7, 7, 7});

        JsonNode grown = ApiClient.json(resize(ApiClient.id(disk), 10 * MIB));

        assertThat(grown.path("sizeBytes").asLong()).isEqualTo(10L * MIB);
        assertThat(grown.path("lcId").asLong()).isEqualTo(lc);
        assertThat(ApiClient.json(api.get("/v1/disks/" + ApiClient.id(disk)))
                        .path("sizeBytes")
                        .asLong())
                .isEqualTo(10L * MIB);
        assertThat(engine.info(lc).sizeBytes()).isEqualTo(10L * MIB);
        assertThat(engine.read(lc, 0, 3)).containsExactly(7, 7, 7);
        assertThat(engine.read(lc, 3, MIB - 3)).isEqualTo(Arrays.copyOfRange(imageBytes, 3, MIB));
        assertThat(engine.read(lc, 4 * MIB, 6 * MIB)).isEqualTo(new byte[6 * MIB]);
        JsonNode lineage = ApiClient.json(api.get("/v1/disks/" + ApiClient.id(disk) + "/lineage"));
        assertThat(lineage.path("chain").get(0).path("sizeBytes").asLong()).isEqualTo(10L * MIB);
    }

    @Test
    void itsSnapshotsAndTheDisksClonedFromItKeepTheirSizes() {
        JsonNode disk = api.clone(imageId);
        String diskId = ApiClient.id(disk);
        JsonNode snapshot = ApiClient.json(
                api.post("/v1/disks/" + diskId + "/snapshots", "{\"name\":\"" + unique("before-grow") + "\"}"));
        JsonNode sibling = api.clone(diskId);

        resize(diskId, 8 * MIB);

        assertThat(ApiClient.json(api.get("/v1/snapshots/" + ApiClient.id(snapshot)))
                        .path("sizeBytes")
                        .asLong())
                .isEqualTo(4L * MIB);
        assertThat(engine.info(snapshot.path("lcId").asLong()).sizeBytes()).isEqualTo(4L * MIB);
        assertThat(ApiClient.json(api.get("/v1/disks/" + ApiClient.id(sibling)))
                        .path("sizeBytes")
                        .asLong())
                .isEqualTo(4L * MIB);
        assertThat(engine.info(sibling.path("lcId").asLong()).sizeBytes()).isEqualTo(4L * MIB);
        // and a snapshot of the grown disk has its new size
        JsonNode after = ApiClient.json(
                api.post("/v1/disks/" + diskId + "/snapshots", "{\"name\":\"" + unique("after-grow") + "\"}"));
        assertThat(after.path("sizeBytes").asLong()).isEqualTo(8L * MIB);
    }

    @Test
    void shrinkingIsRefusedAndTheSameSizeChangesNothing() {
        String diskId = ApiClient.id(api.clone(imageId));

        HttpResponse<String> shrink = resize(diskId, 2 * MIB);
        assertProblem(shrink, 400, "INVALID_ARGUMENT");
        assertThat(ApiClient.json(shrink).path("detail").asString()).contains("can grow, not shrink");
        assertProblem(resize(diskId, 4 * MIB + 100), 400, "INVALID_ARGUMENT");
        assertProblem(api.post("/v1/disks/" + diskId + ":resize", "{}"), 400, "INVALID_ARGUMENT");
        assertProblem(resize("disk-0000000000000000", 8 * MIB), 404, "NOT_FOUND");

        HttpResponse<String> same = resize(diskId, 4 * MIB);
        assertThat(same.statusCode()).isEqualTo(200);
        assertThat(ApiClient.json(same).path("sizeBytes").asLong()).isEqualTo(4L * MIB);
        long lc = ApiClient.json(same).path("lcId").asLong();
        assertThat(engine.info(lc).sizeBytes()).isEqualTo(4L * MIB);
    }

    private HttpResponse<String> resize(String diskId, long sizeBytes) {
        return api.post("/v1/disks/" + diskId + ":resize", "{\"sizeBytes\":" + sizeBytes + "}");
    }
}
