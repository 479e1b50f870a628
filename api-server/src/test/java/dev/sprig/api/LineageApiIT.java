package dev.sprig.api;

import static dev.sprig.api.ImageAndDiskApiIT.assertProblem;
import static dev.sprig.api.ImageAndDiskApiIT.imageContent;
import static dev.sprig.api.ImageAndDiskApiIT.unique;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.engine.LcInfo;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/** Snapshots, clones of snapshots and disks, bulk clone, lineage and deletion, through the REST API. */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "sprig.api.api-keys=" + LineageApiIT.KEY)
class LineageApiIT {

    static final String KEY = "lineage-key-0123456789";
    static final int MIB = 1 << 20;

    @DynamicPropertySource
    static void dataDirs(DynamicPropertyRegistry registry) {
        TestDataDirs.isolate(registry, "lineage-api");
    }

    @LocalServerPort
    int port;

    @Autowired
    ChunkEngine engine;

    @Autowired
    JdbcTemplate jdbc;

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
    void aSnapshotFreezesTheDiskLcAndTheDiskWritesOnANewChild() {
        JsonNode disk = api.clone(imageId);
        long before = disk.path("lcId").asLong();
        engine.write(before, 0, new byte[] {1, 2, 3});

        JsonNode snapshot = ApiClient.json(
                api.post("/v1/disks/" + ApiClient.id(disk) + "/snapshots", "{\"name\":\"" + unique("s") + "\"}"));

        assertThat(snapshot.path("externId").asString()).matches("snap-[0-9a-z]{16}");
        assertThat(snapshot.path("state").asString()).isEqualTo("available");
        assertThat(snapshot.path("lcId").asLong()).isEqualTo(before);
        assertThat(engine.info(before).frozen()).isTrue();
        long after = ApiClient.json(api.get("/v1/disks/" + ApiClient.id(disk)))
                .path("lcId")
                .asLong();
        assertThat(after).isNotEqualTo(before);
        assertThat(engine.info(after).parentLcId()).hasValue(before);
        engine.write(after, 0, new byte[] {9, 9, 9});
        assertThat(engine.read(before, 0, 3))
                .as("the snapshot keeps its content")
                .containsExactly(1, 2, 3);
        assertThat(engine.read(after, 3, 100)).isEqualTo(java.util.Arrays.copyOfRange(imageBytes, 3, 103));
        assertThat(ApiClient.json(api.get("/v1/snapshots/" + ApiClient.id(snapshot)))
                        .path("diskId")
                        .asString())
                .isEqualTo(ApiClient.id(disk));
    }

    @Test
    void lineageWalksFromTheDiskThroughItsSnapshotsToTheImage() {
        JsonNode disk = api.clone(imageId);
        String first = ApiClient.id(ApiClient.json(
                api.post("/v1/disks/" + ApiClient.id(disk) + "/snapshots", "{\"name\":\"" + unique("s1") + "\"}")));
        String second = ApiClient.id(ApiClient.json(
                api.post("/v1/disks/" + ApiClient.id(disk) + "/snapshots", "{\"name\":\"" + unique("s2") + "\"}")));

        JsonNode chain = ApiClient.json(api.get("/v1/disks/" + ApiClient.id(disk) + "/lineage"))
                .path("chain");

        List<String> ids = new ArrayList<>();
        chain.forEach(step -> ids.add(step.path("externId").asString()));
        assertThat(ids).containsExactly(ApiClient.id(disk), second, first, imageId);
        assertThat(chain.get(0).path("frozen").asBoolean()).isFalse();
        assertThat(chain.get(3).path("kind").asString()).isEqualTo("image");
    }

    @Test
    void clonesOfASnapshotAndOfADiskReadTheirSourceAtThatMoment() {
        JsonNode disk = api.clone(imageId);
        engine.write(disk.path("lcId").asLong(), 10, new byte[] {7, 7});
        String snapshot = ApiClient.id(ApiClient.json(
                api.post("/v1/disks/" + ApiClient.id(disk) + "/snapshots", "{\"name\":\"" + unique("s") + "\"}")));

        JsonNode fromSnapshot = api.clone(snapshot);
        JsonNode fromDisk = api.clone(ApiClient.id(disk));
        long diskLcNow = ApiClient.json(api.get("/v1/disks/" + ApiClient.id(disk)))
                .path("lcId")
                .asLong();
        engine.write(diskLcNow, 10, new byte[] {8, 8});

        assertThat(engine.read(fromSnapshot.path("lcId").asLong(), 10, 2)).containsExactly(7, 7);
        assertThat(engine.read(fromDisk.path("lcId").asLong(), 10, 2)).containsExactly(7, 7);
        JsonNode chain = ApiClient.json(api.get("/v1/disks/" + ApiClient.id(fromDisk) + "/lineage"))
                .path("chain");
        assertThat(chain.get(1).path("externId").isNull())
                .as("a disk source is snapshotted implicitly, without a name")
                .isTrue();
        assertThat(chain.get(1).path("frozen").asBoolean()).isTrue();
    }

    @Test
    void aBulkCloneCreatesAllDisksInOneGoOrNone() {
        String prefix = unique("fleet");
        var response = api.post(
                "/v1/disks:batchCreate",
                "{\"sourceId\":\"" + imageId + "\",\"count\":2500,\"namePrefix\":\"" + prefix + "\"}");

        assertThat(response.statusCode()).as(response.body()).isEqualTo(201);
        JsonNode disks = ApiClient.json(response).path("disks");
        assertThat(disks.size()).isEqualTo(2500);
        assertThat(disks.get(0).path("name").asString()).isEqualTo(prefix + "-0001");
        assertThat(disks.get(2499).path("name").asString()).isEqualTo(prefix + "-2500");
        disks.forEach(d -> assertThat(d.path("state").asString()).isEqualTo("available"));
        long someLc = disks.get(1234).path("lcId").asLong();
        assertThat(engine.read(someLc, 0, imageBytes.length)).isEqualTo(imageBytes);

        long rowsBefore = jdbc.queryForObject("SELECT count(*) FROM resource", Long.class);
        long lcsBefore = engine.list().size();
        assertProblem(
                api.post(
                        "/v1/disks:batchCreate",
                        "{\"sourceId\":\"" + imageId + "\",\"count\":3000,\"namePrefix\":\"" + prefix + "\"}"),
                409,
                "ALREADY_EXISTS");
        assertThat(jdbc.queryForObject("SELECT count(*) FROM resource", Long.class))
                .isEqualTo(rowsBefore);
        assertThat(engine.list()).hasSize((int) lcsBefore);
        assertProblem(
                api.post(
                        "/v1/disks:batchCreate",
                        "{\"sourceId\":\"" + imageId + "\",\"count\":5001,\"namePrefix\":\"x\"}"),
                400,
                "INVALID_ARGUMENT");
    }

    @Test
    void deletingWhatOthersReadFromIsRefusedWithTheListOfDependents() {
        JsonNode a = api.clone(imageId);
        JsonNode b = api.clone(imageId);
        String snapshot = ApiClient.id(ApiClient.json(
                api.post("/v1/disks/" + ApiClient.id(a) + "/snapshots", "{\"name\":\"" + unique("s") + "\"}")));
        JsonNode c = api.clone(snapshot);

        List<String> descendants = new ArrayList<>();
        ApiClient.json(api.get("/v1/images/" + imageId + "/descendants"))
                .path("descendants")
                .forEach(d -> descendants.add(d.asString()));
        assertThat(descendants).containsExactlyInAnyOrder(ApiClient.id(a), ApiClient.id(b), snapshot, ApiClient.id(c));

        var refused = api.delete("/v1/images/" + imageId);
        assertProblem(refused, 409, "HAS_DEPENDENTS");
        List<String> dependents = new ArrayList<>();
        ApiClient.json(refused).path("dependents").forEach(d -> dependents.add(d.asString()));
        assertThat(dependents).containsExactlyInAnyOrder(ApiClient.id(a), ApiClient.id(b), snapshot, ApiClient.id(c));
        assertProblem(api.delete("/v1/snapshots/" + snapshot), 409, "HAS_DEPENDENTS");
        assertProblem(api.delete("/v1/images/" + ApiClient.id(a)), 404, "NOT_FOUND");

        for (String disk : List.of(ApiClient.id(a), ApiClient.id(b), ApiClient.id(c))) {
            assertThat(api.delete("/v1/disks/" + disk).statusCode()).isEqualTo(204);
        }
        assertThat(api.delete("/v1/snapshots/" + snapshot).statusCode()).isEqualTo(204);
        assertThat(api.delete("/v1/images/" + imageId).statusCode()).isEqualTo(204);
        assertThat(api.delete("/v1/images/" + imageId).statusCode())
                .as("deleting what is gone")
                .isEqualTo(204);
        assertProblem(api.get("/v1/images/" + imageId), 404, "NOT_FOUND");
        assertThat(lcIdsInDatabase()).isEqualTo(lcIdsInEngine());
    }

    @Test
    void aDeferredDeleteHidesTheImageAtOnceAndFreesItWithItsLastDependent() {
        String name =
                ApiClient.json(api.get("/v1/images/" + imageId)).path("name").asString();
        long imageLc =
                ApiClient.json(api.get("/v1/images/" + imageId)).path("lcId").asLong();
        JsonNode a = api.clone(imageId);
        JsonNode b = api.clone(imageId);

        assertThat(api.delete("/v1/images/" + imageId + "?deferred=true").statusCode())
                .isEqualTo(204);

        assertProblem(api.get("/v1/images/" + imageId), 404, "NOT_FOUND");
        assertProblem(
                api.post("/v1/disks", "{\"name\":\"" + unique("late") + "\",\"sourceId\":\"" + imageId + "\"}"),
                404,
                "NOT_FOUND");
        assertThat(api.post("/v1/images", "{\"name\":\"" + name + "\",\"sizeBytes\":4096}")
                        .statusCode())
                .as("the name is free again")
                .isEqualTo(201);
        assertThat(engine.read(a.path("lcId").asLong(), 0, 64))
                .as("dependents still read the image")
                .isEqualTo(java.util.Arrays.copyOf(imageBytes, 64));

        assertThat(api.delete("/v1/disks/" + ApiClient.id(a)).statusCode()).isEqualTo(204);
        assertThat(lcIdsInDatabase()).contains(imageLc);
        assertThat(api.delete("/v1/disks/" + ApiClient.id(b)).statusCode()).isEqualTo(204);

        assertThat(lcIdsInDatabase()).as("freed with its last dependent").doesNotContain(imageLc);
        assertThat(lcIdsInEngine()).doesNotContain(imageLc);
        assertThat(jdbc.queryForObject("SELECT count(*) FROM resource WHERE extern_id = ?", Long.class, imageId))
                .isZero();
    }

    @Test
    void concurrentClonesSnapshotsAndDeletesLeaveNoOrphanAndAgreeWithStorage() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(32);
        var disks = new ConcurrentLinkedQueue<String>();
        List<Future<?>> work = new ArrayList<>();
        for (int t = 0; t < 32; t++) {
            long seed = t;
            work.add(pool.submit(() -> {
                var random = new Random(seed);
                for (int i = 0; i < 10; i++) {
                    int op = random.nextInt(4);
                    String some = disks.peek();
                    if (op == 0 || some == null) {
                        disks.add(ApiClient.id(api.clone(imageId)));
                    } else if (op == 1) {
                        api.post("/v1/disks/" + some + "/snapshots", "{\"name\":\"" + unique("cs") + "\"}");
                    } else if (op == 2) {
                        String source = random.nextBoolean() ? some : imageId;
                        var response = api.post(
                                "/v1/disks", "{\"name\":\"" + unique("cc") + "\",\"sourceId\":\"" + source + "\"}");
                        if (response.statusCode() == 201) {
                            disks.add(ApiClient.id(ApiClient.json(response)));
                        }
                    } else {
                        String victim = disks.poll();
                        if (victim != null) {
                            var deleted = api.delete("/v1/disks/" + victim);
                            assertThat(deleted.statusCode()).as(deleted.body()).isEqualTo(204);
                        }
                    }
                }
                return null;
            }));
        }
        for (Future<?> done : work) {
            done.get();
        }
        pool.shutdown();

        assertThat(jdbc.queryForObject("""
                        WITH RECURSIVE used(lc_id) AS (
                            SELECT lc_id FROM resource WHERE lc_id IS NOT NULL
                            UNION
                            SELECT lc.parent_lc_id FROM lc JOIN used ON lc.lc_id = used.lc_id WHERE lc.parent_lc_id IS NOT NULL)
                        SELECT count(*) FROM lc WHERE lc_id NOT IN (SELECT lc_id FROM used)
                          AND NOT EXISTS (SELECT 1 FROM lc child WHERE child.parent_lc_id = lc.lc_id)""", Long.class))
                .as("every lc is a resource's, or an ancestor of one, or on its way to one")
                .isZero();
        assertThat(jdbc.queryForObject(
                        "SELECT count(*) FROM resource r JOIN lc ON lc.lc_id = r.lc_id"
                                + " WHERE r.kind = 'disk' AND lc.frozen",
                        Long.class))
                .as("every disk writes to a writable lc")
                .isZero();
        assertThat(lcIdsInDatabase()).isEqualTo(lcIdsInEngine());
    }

    private Set<Long> lcIdsInDatabase() {
        return new HashSet<>(jdbc.queryForList("SELECT lc_id FROM lc", Long.class));
    }

    private Set<Long> lcIdsInEngine() {
        Set<Long> ids = new HashSet<>();
        for (LcInfo info : engine.list()) {
            ids.add(info.lcId());
        }
        return ids;
    }
}
