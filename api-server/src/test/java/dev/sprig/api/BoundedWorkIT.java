package dev.sprig.api;

import static dev.sprig.api.ImageAndDiskApiIT.assertProblem;
import static dev.sprig.api.ImageAndDiskApiIT.imageContent;
import static dev.sprig.api.ImageAndDiskApiIT.unique;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.api.operation.OperationRunner;
import dev.sprig.engine.ChunkEngine;
import java.net.http.HttpResponse;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Import;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * No request can make api-server do work out of proportion to the data: sizes are bounded (whole
 * 512-byte sectors, at most 64 TiB), a flatten's work follows the data its disk reads, a running
 * operation can be cancelled, and one whose runs keep dying is failed rather than resumed for ever.
 */
@Import(GatedBackend.Installed.class)
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"sprig.api.api-keys=" + BoundedWorkIT.KEY, "sprig.api.operations.max-attempts=3"})
class BoundedWorkIT {

    static final String KEY = "bounded-work-key-0123456789";
    static final int MIB = 1 << 20;
    static final long MAX = 1L << 46;

    @DynamicPropertySource
    static void dataDirs(DynamicPropertyRegistry registry) {
        TestDataDirs.isolate(registry, "bounded-work");
    }

    @LocalServerPort
    int port;

    @Autowired
    ChunkEngine engine;

    @Autowired
    JdbcTemplate jdbc;

    @Autowired
    GatedBackend backend;

    @Autowired
    OperationRunner runner;

    ApiClient api;
    String imageId;
    byte[] imageBytes;

    @BeforeEach
    void anAvailableImage() {
        api = new ApiClient(port, KEY);
        imageBytes = imageContent(8 * MIB);
        imageId = api.availableImage(imageBytes);
    }

    @AfterEach
    void flattensRunFreely() {
        backend.reset();
    }

    @Test
    void disksOfUnboundedOrUnalignedSizesAreRefusedWith400NamingTheRule() {
        for (String size : new String[] {
            "1152921504606846976", "9223372036854775807", "67108865", "0", "-4096", "70368744177665", "70368744178176"
        }) {
            HttpResponse<String> single = api.post(
                    "/v1/disks",
                    "{\"name\":\"" + unique("d") + "\",\"sourceId\":\"" + imageId + "\",\"sizeBytes\":" + size + "}");
            assertProblem(single, 400, "INVALID_ARGUMENT");
            assertThat(ApiClient.json(single).path("detail").asString())
                    .as(size)
                    .contains("sizeBytes is " + size, "multiple of 512", "70368744177664 (64 TiB)");
            assertProblem(
                    api.post(
                            "/v1/disks:batchCreate",
                            "{\"namePrefix\":\"" + unique("b") + "\",\"count\":3,\"sourceId\":\"" + imageId
                                    + "\",\"sizeBytes\":" + size + "}"),
                    400,
                    "INVALID_ARGUMENT");
            assertProblem(
                    api.post("/v1/images", "{\"name\":\"" + unique("i") + "\",\"sizeBytes\":" + size + "}"),
                    400,
                    "INVALID_ARGUMENT");
        }
        assertThat(jdbc.queryForObject("SELECT count(*) FROM resource WHERE size_bytes > ?", Long.class, MAX))
                .isZero();
    }

    @Test
    void exactlyTheMaximumIsAccepted() {
        HttpResponse<String> disk = api.post(
                "/v1/disks",
                "{\"name\":\"" + unique("max") + "\",\"sourceId\":\"" + imageId + "\",\"sizeBytes\":" + MAX + "}");
        assertThat(disk.statusCode()).as(disk.body()).isEqualTo(201);
        assertThat(ApiClient.json(disk).path("sizeBytes").asLong()).isEqualTo(MAX);
        HttpResponse<String> batch = api.post(
                "/v1/disks:batchCreate",
                "{\"namePrefix\":\"" + unique("maxes") + "\",\"count\":2,\"sourceId\":\"" + imageId
                        + "\",\"sizeBytes\":" + MAX + "}");
        assertThat(batch.statusCode()).as(batch.body()).isEqualTo(201);
        HttpResponse<String> image =
                api.post("/v1/images", "{\"name\":\"" + unique("max") + "\",\"sizeBytes\":" + MAX + "}");
        assertThat(image.statusCode()).as(image.body()).isEqualTo(201);
        HttpResponse<String> sectors = api.post(
                "/v1/disks",
                "{\"name\":\"" + unique("sectors") + "\",\"sourceId\":\"" + imageId + "\",\"sizeBytes\":"
                        + (8 * MIB + 512) + "}");
        assertThat(sectors.statusCode()).as(sectors.body()).isEqualTo(201);
    }

    @Test
    void flatteningA64TiBDiskTakesWorkInProportionToItsDataNotItsSize() {
        JsonNode disk = ApiClient.json(api.post(
                "/v1/disks",
                "{\"name\":\"" + unique("huge") + "\",\"sourceId\":\"" + imageId + "\",\"sizeBytes\":" + MAX + "}"));
        long lc = disk.path("lcId").asLong();
        long far = (1L << 40) + 3;
        engine.write(lc, far, new byte[] {4, 2});
        long started = System.nanoTime();

        JsonNode finished = api.awaitFinished(ApiClient.json(api.action("/v1/disks/" + ApiClient.id(disk) + ":flatten"))
                .path("id")
                .asString());

        assertThat(finished.path("state").asString()).as(finished.toString()).isEqualTo("succeeded");
        assertThat(System.nanoTime() - started)
                .as("16,777,216 PCs by size, 2 with data")
                .isLessThan(20_000_000_000L);
        assertThat(finished.path("done").asLong())
                .isEqualTo(finished.path("total").asLong());
        assertThat(engine.info(lc).parentLcId()).isEmpty();
        assertThat(engine.read(lc, 0, imageBytes.length)).isEqualTo(imageBytes);
        assertThat(engine.read(lc, far, 2)).containsExactly(4, 2);
        assertThat(engine.read(lc, MAX - 8, 8)).containsOnly(0);
    }

    @Test
    void aCancelledFlattenIsFailedAtOnceStopsItsWorkAndLeavesTheDiskAvailable() throws Exception {
        JsonNode disk = api.clone(imageId);
        long lc = disk.path("lcId").asLong();
        String operation;
        try (GatedBackend.Hold hold = backend.holdFlattens()) {
            operation = ApiClient.json(api.action("/v1/disks/" + ApiClient.id(disk) + ":flatten"))
                    .path("id")
                    .asString();
            hold.awaitHeld();

            HttpResponse<String> cancelled = api.action("/v1/operations/" + operation + ":cancel");

            assertThat(cancelled.statusCode()).as(cancelled.body()).isEqualTo(200);
            JsonNode view = ApiClient.json(cancelled);
            assertThat(view.path("state").asString()).isEqualTo("failed");
            assertThat(view.path("errorCode").asString()).isEqualTo("CANCELLED");
            assertThat(view.path("error").asString()).contains("cancelled");
            assertThat(view.path("finishedAt").isNull()).isFalse();
            assertThat(ApiClient.json(api.get("/v1/disks/" + ApiClient.id(disk)))
                            .path("state")
                            .asString())
                    .isEqualTo("available");

            hold.releaseAndAwaitEnd();
        }

        assertThat(engine.info(lc).parentLcId())
                .as("the work stopped at its next progress step, before the detach")
                .isPresent();
        assertThat(engine.read(lc, 0, imageBytes.length)).isEqualTo(imageBytes);
        JsonNode after = ApiClient.json(api.get("/v1/operations/" + operation));
        assertThat(after.path("state").asString()).isEqualTo("failed");
        assertThat(after.path("errorCode").asString()).isEqualTo("CANCELLED");

        runner.resumeRunning();
        Thread.sleep(300);
        assertThat(ApiClient.json(api.get("/v1/operations/" + operation))
                        .path("errorCode")
                        .asString())
                .as("a cancelled operation is never taken up again")
                .isEqualTo("CANCELLED");
        assertThat(engine.info(lc).parentLcId()).isPresent();

        JsonNode again = api.awaitFinished(ApiClient.json(api.action("/v1/disks/" + ApiClient.id(disk) + ":flatten"))
                .path("id")
                .asString());
        assertThat(again.path("state").asString())
                .as("the disk can be flattened again")
                .isEqualTo("succeeded");
        assertThat(engine.info(lc).parentLcId()).isEmpty();
    }

    @Test
    void cancellingAFinishedOperationIs409AndAnUnknownOne404() {
        JsonNode disk = api.clone(imageId);
        String operation = ApiClient.json(api.action("/v1/disks/" + ApiClient.id(disk) + ":flatten"))
                .path("id")
                .asString();
        assertThat(api.awaitFinished(operation).path("state").asString()).isEqualTo("succeeded");

        HttpResponse<String> refused = api.action("/v1/operations/" + operation + ":cancel");

        assertProblem(refused, 409, "INVALID_STATE");
        assertThat(ApiClient.json(refused).path("detail").asString()).contains(operation, "already succeeded");
        assertThat(ApiClient.json(api.get("/v1/operations/" + operation))
                        .path("state")
                        .asString())
                .isEqualTo("succeeded");
        assertProblem(api.action("/v1/operations/op-0000000000000000:cancel"), 404, "NOT_FOUND");
        assertProblem(
                new ApiClient(port, "wrong-key-0123456789").action("/v1/operations/" + operation + ":cancel"),
                401,
                "UNAUTHENTICATED");
    }

    @Test
    void anOperationWhoseRunsKeepDyingIsFailedInsteadOfResumedForEver() {
        JsonNode disk = api.clone(imageId);
        String operation = leftRunningByCrashes(disk, 3);

        runner.resumeRunning();

        JsonNode failed = api.awaitFinished(operation);
        assertThat(failed.path("state").asString()).isEqualTo("failed");
        assertThat(failed.path("errorCode").asString()).isEqualTo("ATTEMPTS_EXHAUSTED");
        assertThat(failed.path("error").asString()).contains("gave up after 3 attempts");
        assertThat(ApiClient.json(api.get("/v1/disks/" + ApiClient.id(disk)))
                        .path("state")
                        .asString())
                .isEqualTo("available");
        assertThat(engine.info(disk.path("lcId").asLong()).parentLcId()).isPresent();
    }

    @Test
    void anOperationWithAttemptsLeftIsResumedAndCountsItsRun() {
        JsonNode disk = api.clone(imageId);
        String operation = leftRunningByCrashes(disk, 2);

        runner.resumeRunning();

        assertThat(api.awaitFinished(operation).path("state").asString()).isEqualTo("succeeded");
        assertThat(jdbc.queryForObject(
                        "SELECT attempts FROM operation WHERE operation_id = ?", Integer.class, operation))
                .isEqualTo(3);
        assertThat(engine.info(disk.path("lcId").asLong()).parentLcId()).isEmpty();
    }

    /** A running flatten of {@code disk} whose earlier runs died {@code attempts} times with api-server. */
    private String leftRunningByCrashes(JsonNode disk, int attempts) {
        String operation = "op-" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
        jdbc.update("UPDATE resource SET state = 'flattening' WHERE extern_id = ?", ApiClient.id(disk));
        jdbc.update(
                "INSERT INTO operation (operation_id, kind, target_extern_id, state, total, attempts)"
                        + " VALUES (?, 'flatten', ?, 'running', 2, ?)",
                operation,
                ApiClient.id(disk),
                attempts);
        return operation;
    }
}
