package dev.sprig.api;

import static dev.sprig.api.ImageAndDiskApiIT.assertProblem;
import static dev.sprig.api.ImageAndDiskApiIT.imageContent;
import static dev.sprig.api.ImageAndDiskApiIT.unique;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.engine.LcInfo;
import java.net.http.HttpResponse;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * {@code POST /v1/disks/{id}:revert} on the embedded backend: a disk reads as its snapshot again,
 * what it wrote since is gone from storage, and nothing else changes.
 */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "sprig.api.api-keys=" + DiskRevertIT.KEY)
class DiskRevertIT {

    static final String KEY = "revert-key-0123456789";
    static final int MIB = 1 << 20;

    @DynamicPropertySource
    static void dataDirs(DynamicPropertyRegistry registry) {
        TestDataDirs.isolate(registry, "disk-revert");
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
    void aRevertedDiskReadsAsItsSnapshotAndWhatItWroteSinceIsGone() {
        JsonNode disk = api.clone(imageId);
        String diskId = ApiClient.id(disk);
        engine.write(disk.path("lcId").asLong(), 0, new byte[] {1, 1, 1});
        JsonNode snapshot = snapshot(diskId);
        long written = lcOf(diskId);
        engine.write(written, 0, new byte[] {2, 2, 2});
        engine.write(written, 3 * MIB, new byte[] {2, 2, 2});

        HttpResponse<String> reverted = revert(diskId, ApiClient.id(snapshot));

        assertThat(reverted.statusCode()).isEqualTo(200);
        long now = ApiClient.json(reverted).path("lcId").asLong();
        assertThat(now).isNotEqualTo(written).isEqualTo(lcOf(diskId));
        assertThat(engine.read(now, 0, 3)).containsExactly(1, 1, 1);
        assertThat(engine.read(now, 3 * MIB, 3)).isEqualTo(Arrays.copyOfRange(imageBytes, 3 * MIB, 3 * MIB + 3));
        assertThat(lcIds()).doesNotContain(written);
        assertThat(engine.info(now).parentLcId()).hasValue(snapshot.path("lcId").asLong());
        assertThat(engine.read(snapshot.path("lcId").asLong(), 0, 3)).containsExactly(1, 1, 1);
        JsonNode chain =
                ApiClient.json(api.get("/v1/disks/" + diskId + "/lineage")).path("chain");
        assertThat(chain.get(1).path("externId").asString()).isEqualTo(ApiClient.id(snapshot));
        // the disk goes on as a disk: it takes writes, snapshots and clones
        engine.write(now, 0, new byte[] {3});
        assertThat(api.clone(diskId).path("lcId").asLong()).isPositive();
    }

    @Test
    void aRevertToAnOlderSnapshotKeepsTheLaterOnesWhichAreThenNoLongerItsPast() {
        String diskId = ApiClient.id(api.clone(imageId));
        engine.write(lcOf(diskId), 0, new byte[] {1});
        JsonNode first = snapshot(diskId);
        engine.write(lcOf(diskId), 0, new byte[] {2});
        JsonNode second = snapshot(diskId);
        engine.write(lcOf(diskId), 0, new byte[] {3});

        assertThat(revert(diskId, ApiClient.id(first)).statusCode()).isEqualTo(200);

        assertThat(engine.read(lcOf(diskId), 0, 1)).containsExactly(1);
        assertThat(engine.read(second.path("lcId").asLong(), 0, 1)).containsExactly(2);
        assertThat(ApiClient.json(api.get("/v1/snapshots/" + ApiClient.id(second)))
                        .path("state")
                        .asString())
                .isEqualTo("available");
        HttpResponse<String> later = revert(diskId, ApiClient.id(second));
        assertProblem(later, 409, "INVALID_STATE");
        assertThat(ApiClient.json(later).path("detail").asString()).contains("not in disk " + diskId + "'s lineage");
        // reverting to the same snapshot again drops what was written since, once more
        engine.write(lcOf(diskId), 0, new byte[] {4});
        assertThat(revert(diskId, ApiClient.id(first)).statusCode()).isEqualTo(200);
        assertThat(engine.read(lcOf(diskId), 0, 1)).containsExactly(1);
    }

    @Test
    void aDiskGrownAfterItsSnapshotKeepsItsSizeAndReadsZerosPastTheSnapshot() {
        String diskId = ApiClient.id(api.clone(imageId));
        JsonNode snapshot = snapshot(diskId);
        api.post("/v1/disks/" + diskId + ":resize", "{\"sizeBytes\":" + 8 * MIB + "}");
        engine.write(lcOf(diskId), 6 * MIB, new byte[] {9, 9});

        JsonNode reverted = ApiClient.json(revert(diskId, ApiClient.id(snapshot)));

        assertThat(reverted.path("sizeBytes").asLong()).isEqualTo(8L * MIB);
        assertThat(engine.info(lcOf(diskId)).sizeBytes()).isEqualTo(8L * MIB);
        assertThat(engine.read(lcOf(diskId), 6 * MIB, 2)).containsExactly(0, 0);
        assertThat(engine.read(lcOf(diskId), 0, MIB)).isEqualTo(Arrays.copyOf(imageBytes, MIB));
    }

    @Test
    void anImplicitSnapshotThatNothingReadsAnyMoreGoesWithTheRevertedLc() {
        String diskId = ApiClient.id(api.clone(imageId));
        JsonNode snapshot = snapshot(diskId);
        long beforeClone = lcOf(diskId);
        // a clone of the disk freezes its lc in place (no resource names it) and moves the disk on
        JsonNode clone = api.clone(diskId);
        long moved = lcOf(diskId);
        assertThat(moved).isNotEqualTo(beforeClone);
        assertThat(api.delete("/v1/disks/" + ApiClient.id(clone)).statusCode()).isEqualTo(204);
        assertThat(lcIds()).contains(beforeClone, moved);

        assertThat(revert(diskId, ApiClient.id(snapshot)).statusCode()).isEqualTo(200);

        assertThat(lcIds()).doesNotContain(beforeClone, moved).contains(lcOf(diskId));
    }

    @Test
    void aDiskHeldForWritingIsNotRevertedUntilItsHolderDetaches() {
        String diskId = ApiClient.id(api.clone(imageId));
        JsonNode snapshot = snapshot(diskId);
        long lc = lcOf(diskId);
        assertThat(api.get("/v1/disks/" + diskId + "/attachment?holder=host-7:1234")
                        .statusCode())
                .isEqualTo(200);
        assertThat(api.get("/v1/disks/" + diskId + "/attachment?access=read-only")
                        .statusCode())
                .isEqualTo(200);

        HttpResponse<String> held = revert(diskId, ApiClient.id(snapshot));

        assertProblem(held, 409, "INVALID_STATE");
        assertThat(ApiClient.json(held).path("detail").asString())
                .contains("attached for writing by 'host-7:1234'", "holder=host-7:1234");
        assertThat(lcOf(diskId)).isEqualTo(lc);
        // another holder's detach ends nothing of this one's
        assertThat(api.delete("/v1/disks/" + diskId + "/attachment?holder=someone-else")
                        .statusCode())
                .isEqualTo(204);
        assertProblem(revert(diskId, ApiClient.id(snapshot)), 409, "INVALID_STATE");
        assertThat(api.delete("/v1/disks/" + diskId + "/attachment?holder=host-7:1234")
                        .statusCode())
                .isEqualTo(204);
        assertThat(revert(diskId, ApiClient.id(snapshot)).statusCode()).isEqualTo(200);
        // an attachment that names no holder holds the disk as 'unnamed'
        api.get("/v1/disks/" + diskId + "/attachment");
        assertThat(ApiClient.json(revert(diskId, ApiClient.id(snapshot)))
                        .path("detail")
                        .asString())
                .contains("'unnamed'");
    }

    @Test
    void whatIsNotItsPastOrDoesNotExistIsRefusedAndChangesNothing() {
        String diskId = ApiClient.id(api.clone(imageId));
        String otherDisk = ApiClient.id(api.clone(imageId));
        JsonNode othersSnapshot = snapshot(otherDisk);
        long lc = lcOf(diskId);

        assertProblem(revert(diskId, ApiClient.id(othersSnapshot)), 409, "INVALID_STATE");
        assertProblem(revert(diskId, "snap-0000000000000000"), 404, "NOT_FOUND");
        assertProblem(revert(diskId, otherDisk), 404, "NOT_FOUND");
        assertProblem(revert("disk-0000000000000000", ApiClient.id(othersSnapshot)), 404, "NOT_FOUND");
        assertProblem(api.post("/v1/disks/" + diskId + ":revert", "{}"), 400, "INVALID_ARGUMENT");
        assertProblem(api.delete("/v1/disks/disk-0000000000000000/attachment"), 404, "NOT_FOUND");
        assertProblem(api.delete("/v1/disks/" + diskId + "/attachment?holder=a%20b"), 400, "INVALID_ARGUMENT");
        assertProblem(
                api.get("/v1/disks/" + diskId + "/attachment?holder=" + "h".repeat(129)), 400, "INVALID_ARGUMENT");
        assertThat(lcOf(diskId)).isEqualTo(lc);
        assertThat(lcIds()).contains(lc);
    }

    private JsonNode snapshot(String diskId) {
        HttpResponse<String> taken =
                api.post("/v1/disks/" + diskId + "/snapshots", "{\"name\":\"" + unique("revert") + "\"}");
        assertThat(taken.statusCode()).isEqualTo(201);
        return ApiClient.json(taken);
    }

    private HttpResponse<String> revert(String diskId, String snapshotId) {
        return api.post("/v1/disks/" + diskId + ":revert", "{\"snapshotId\":\"" + snapshotId + "\"}");
    }

    private long lcOf(String diskId) {
        return ApiClient.json(api.get("/v1/disks/" + diskId)).path("lcId").asLong();
    }

    private List<Long> lcIds() {
        return engine.list().stream().map(LcInfo::lcId).toList();
    }
}
