package dev.sprig.api;

import static dev.sprig.api.ImageAndDiskApiIT.assertProblem;
import static dev.sprig.api.ImageAndDiskApiIT.imageContent;
import static dev.sprig.api.ImageAndDiskApiIT.unique;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.api.operation.OperationRunner;
import dev.sprig.engine.ChunkEngine;
import dev.sprig.engine.LcInfo;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
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
 * Flatten through the REST API: {@code POST /v1/disks/{id}:flatten} answers an operation; when it
 * has succeeded the disk holds all of its data and reads from no ancestor, and what nothing else
 * reads is freed.
 */
@Import(GatedBackend.Installed.class)
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "sprig.api.api-keys=" + FlattenIT.KEY)
class FlattenIT {

    static final String KEY = "flatten-key-0123456789";
    static final int MIB = 1 << 20;

    @DynamicPropertySource
    static void dataDirs(DynamicPropertyRegistry registry) {
        TestDataDirs.isolate(registry, "flatten");
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
    DataSource dataSource;

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
    void aFlattenedCloneHoldsAllItsDataAndReadsFromNoAncestor() {
        JsonNode disk = api.clone(imageId);
        long lc = disk.path("lcId").asLong();
        byte[] expected = imageBytes.clone();
        write(lc, expected, 100, new byte[] {1, 2, 3, 4});
        write(lc, expected, 5 * MIB + 7, new byte[300 * 1024]);

        HttpResponse<String> started = api.action("/v1/disks/" + ApiClient.id(disk) + ":flatten");

        assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
        JsonNode operation = ApiClient.json(started);
        assertThat(opId(operation)).matches("op-[0-9a-z]{16}");
        assertThat(operation.path("kind").asString()).isEqualTo("flatten");
        assertThat(operation.path("targetId").asString()).isEqualTo(ApiClient.id(disk));
        assertThat(operation.path("unit").asString()).isEqualTo("pcs");
        assertThat(started.headers().firstValue("Location")).hasValue("/v1/operations/" + opId(operation));
        JsonNode finished = awaitFinished(operation);
        assertThat(finished.path("state").asString()).isEqualTo("succeeded");
        assertThat(finished.path("total").asLong()).isEqualTo(2);
        assertThat(finished.path("done").asLong()).isEqualTo(2);
        assertThat(finished.path("finishedAt").isNull()).isFalse();
        assertThat(finished.path("error").isNull()).isTrue();

        assertThat(ApiClient.json(api.get("/v1/disks/" + ApiClient.id(disk)))
                        .path("state")
                        .asString())
                .isEqualTo("available");
        JsonNode chain = ApiClient.json(api.get("/v1/disks/" + ApiClient.id(disk) + "/lineage"))
                .path("chain");
        assertThat(chain.size()).isEqualTo(1);
        assertThat(chain.get(0).path("lcId").asLong()).isEqualTo(lc);
        assertThat(engine.info(lc).parentLcId()).isEmpty();
        assertThat(engine.read(lc, 0, expected.length)).isEqualTo(expected);

        assertThat(api.delete("/v1/images/" + imageId).statusCode())
                .as("the image has no dependent left")
                .isEqualTo(204);
        assertThat(engine.read(lc, 0, expected.length)).isEqualTo(expected);
    }

    @Test
    void progressIsWrittenWhileTheFlattenRunsAndOnlyGrows() throws Exception {
        byte[] bigger = imageContent(24 * MIB);
        JsonNode disk = api.clone(api.availableImage(bigger));
        JsonNode operation;
        List<Long> seen = new ArrayList<>();
        try (GatedBackend.Hold hold = backend.holdFlattens()) {
            operation = ApiClient.json(api.action("/v1/disks/" + ApiClient.id(disk) + ":flatten"));
            hold.awaitHeld();

            JsonNode running = ApiClient.json(api.get("/v1/operations/" + opId(operation)));
            assertThat(running.path("state").asString()).isEqualTo("running");
            assertThat(running.path("done").asLong()).isEqualTo(1);
            assertThat(running.path("total").asLong()).isEqualTo(6);
            assertThat(running.path("finishedAt").isNull()).isTrue();
            seen.add(running.path("done").asLong());
        }
        JsonNode finished = awaitFinished(operation, seen);

        assertThat(finished.path("state").asString()).isEqualTo("succeeded");
        assertThat(seen).isSorted().last().isEqualTo(6L);
        assertThat(engine.read(disk.path("lcId").asLong(), 0, bigger.length)).isEqualTo(bigger);
    }

    @Test
    void whileADiskFlattensSnapshotCloneAndDeleteAreRefusedNamingTheOperation() throws Exception {
        JsonNode disk = api.clone(imageId);
        try (GatedBackend.Hold hold = backend.holdFlattens()) {
            String operation = opId(ApiClient.json(api.action("/v1/disks/" + ApiClient.id(disk) + ":flatten")));
            hold.awaitHeld();

            assertThat(ApiClient.json(api.get("/v1/disks/" + ApiClient.id(disk)))
                            .path("state")
                            .asString())
                    .isEqualTo("flattening");
            for (HttpResponse<String> refused : List.of(
                    api.post("/v1/disks/" + ApiClient.id(disk) + "/snapshots", "{\"name\":\"" + unique("s") + "\"}"),
                    api.post(
                            "/v1/disks",
                            "{\"name\":\"" + unique("c") + "\",\"sourceId\":\"" + ApiClient.id(disk) + "\"}"),
                    api.delete("/v1/disks/" + ApiClient.id(disk)))) {
                assertProblem(refused, 409, "INVALID_STATE");
                assertThat(ApiClient.json(refused).path("detail").asString()).contains(operation);
            }
        }
        assertThat(awaitFinished(operationOn(disk)).path("state").asString()).isEqualTo("succeeded");
        assertThat(api.delete("/v1/disks/" + ApiClient.id(disk)).statusCode()).isEqualTo(204);
    }

    @Test
    void whileADiskFlattensItsIoAndAttachmentGoOn() throws Exception {
        JsonNode disk = api.clone(imageId);
        long lc = disk.path("lcId").asLong();
        byte[] expected = imageBytes.clone();
        try (GatedBackend.Hold hold = backend.holdFlattens()) {
            api.action("/v1/disks/" + ApiClient.id(disk) + ":flatten");
            hold.awaitHeld();

            HttpResponse<String> attachment = api.get("/v1/disks/" + ApiClient.id(disk) + "/attachment");
            assertThat(attachment.statusCode()).as(attachment.body()).isEqualTo(200);
            assertThat(ApiClient.json(attachment).path("lcId").asLong()).isEqualTo(lc);
            write(lc, expected, 6 * MIB + 3, new byte[] {9, 8, 7});
            assertThat(engine.read(lc, 6 * MIB, 16)).isEqualTo(Arrays.copyOfRange(expected, 6 * MIB, 6 * MIB + 16));
        }
        assertThat(awaitFinished(operationOn(disk)).path("state").asString()).isEqualTo("succeeded");
        assertThat(engine.read(lc, 0, expected.length)).isEqualTo(expected);
    }

    @Test
    void flatteningADiskThatIsFlatteningAnswersTheRunningOperation() throws Exception {
        JsonNode disk = api.clone(imageId);
        try (GatedBackend.Hold hold = backend.holdFlattens()) {
            JsonNode first = ApiClient.json(api.action("/v1/disks/" + ApiClient.id(disk) + ":flatten"));
            hold.awaitHeld();

            HttpResponse<String> again = api.action("/v1/disks/" + ApiClient.id(disk) + ":flatten");

            assertThat(again.statusCode()).isEqualTo(202);
            assertThat(opId(ApiClient.json(again))).isEqualTo(opId(first));
            assertThat(ApiClient.json(again).path("state").asString()).isEqualTo("running");
        }
        assertThat(awaitFinished(operationOn(disk)).path("state").asString()).isEqualTo("succeeded");
        assertThat(jdbc.queryForObject(
                        "SELECT count(*) FROM operation WHERE target_extern_id = ?", Long.class, ApiClient.id(disk)))
                .isEqualTo(1);
    }

    @Test
    void aDiskThatReadsFromNoAncestorIsFlattenedAtOnce() {
        JsonNode disk = api.clone(imageId);
        JsonNode first = awaitFinished(ApiClient.json(api.action("/v1/disks/" + ApiClient.id(disk) + ":flatten")));

        HttpResponse<String> again = api.action("/v1/disks/" + ApiClient.id(disk) + ":flatten");

        assertThat(again.statusCode()).isEqualTo(202);
        JsonNode operation = ApiClient.json(again);
        assertThat(opId(operation)).isNotEqualTo(opId(first));
        assertThat(operation.path("state").asString()).isEqualTo("succeeded");
        assertThat(operation.path("done").asLong())
                .isEqualTo(2)
                .isEqualTo(operation.path("total").asLong());
        assertThat(ApiClient.json(api.get("/v1/disks/" + ApiClient.id(disk)))
                        .path("state")
                        .asString())
                .isEqualTo("available");
    }

    @Test
    void unknownDisksAndOperationsAreNotFound() {
        assertProblem(api.action("/v1/disks/disk-0000000000000000:flatten"), 404, "NOT_FOUND");
        assertProblem(api.action("/v1/disks/" + imageId + ":flatten"), 404, "NOT_FOUND");
        assertProblem(api.get("/v1/operations/op-0000000000000000"), 404, "NOT_FOUND");
        assertProblem(api.get("/v1/operations/unknown"), 404, "NOT_FOUND");
    }

    @Test
    void flatteningACloneOfADiskFreesTheImplicitSnapshotOnceNothingReadsIt() {
        JsonNode a = api.clone(imageId);
        engine.write(a.path("lcId").asLong(), 0, new byte[] {5, 5, 5});
        long implicitSnapshot = a.path("lcId").asLong();
        JsonNode b = api.clone(ApiClient.id(a));
        JsonNode aNow = ApiClient.json(api.get("/v1/disks/" + ApiClient.id(a)));
        assertThat(engine.info(aNow.path("lcId").asLong()).parentLcId()).hasValue(implicitSnapshot);

        flattenAndAwait(b);
        assertThat(lcIdsInDatabase()).as("the disk still reads it").contains(implicitSnapshot);
        flattenAndAwait(aNow);

        assertThat(lcIdsInDatabase()).doesNotContain(implicitSnapshot);
        awaitGoneFromEngine(implicitSnapshot);
        assertThat(lcIdsInDatabase()).isEqualTo(lcIdsInEngine());
        assertThat(engine.read(b.path("lcId").asLong(), 0, 4)).containsExactly(5, 5, 5, imageBytes[3]);
        assertThat(api.get("/v1/images/" + imageId).statusCode())
                .as("an image is freed by deletion only")
                .isEqualTo(200);
    }

    @Test
    void anImageWaitingOnADeferredDeleteIsFreedWhenItsLastCloneIsFlattened() {
        long imageLc =
                ApiClient.json(api.get("/v1/images/" + imageId)).path("lcId").asLong();
        JsonNode disk = api.clone(imageId);
        assertThat(api.delete("/v1/images/" + imageId + "?deferred=true").statusCode())
                .isEqualTo(204);
        assertThat(lcIdsInEngine()).contains(imageLc);

        flattenAndAwait(disk);

        assertThat(lcIdsInDatabase()).doesNotContain(imageLc);
        awaitGoneFromEngine(imageLc);
        assertThat(jdbc.queryForObject("SELECT count(*) FROM resource WHERE extern_id = ?", Long.class, imageId))
                .isZero();
        assertThat(engine.read(disk.path("lcId").asLong(), 0, imageBytes.length))
                .isEqualTo(imageBytes);
    }

    @Test
    void flatteningTheLastCloneOfAnImageDoesNotWaitOnACloneOfItStillInFlight() throws Exception {
        JsonNode disk = api.clone(imageId);
        // a clone of the image holds the image's row shared and then adds a child under its lc;
        // the flatten, which frees what nothing reads any more, must not wait on that row meanwhile
        // (it once locked the image's lc and then its row, the other order, and the two deadlocked)
        try (Connection clone = dataSource.getConnection()) {
            clone.setAutoCommit(false);
            try (PreparedStatement share =
                    clone.prepareStatement("SELECT 1 FROM resource WHERE extern_id = ? FOR SHARE")) {
                share.setString(1, imageId);
                share.executeQuery().close();
            }

            String operation = opId(ApiClient.json(api.action("/v1/disks/" + ApiClient.id(disk) + ":flatten")));
            long deadline = System.nanoTime() + java.time.Duration.ofSeconds(15).toNanos();
            JsonNode now = ApiClient.json(api.get("/v1/operations/" + operation));
            while (now.path("state").asString().equals("running") && System.nanoTime() < deadline) {
                Thread.sleep(20);
                now = ApiClient.json(api.get("/v1/operations/" + operation));
            }

            assertThat(now.path("state").asString())
                    .as("flatten while a clone holds the image: %s", now)
                    .isEqualTo("succeeded");
            clone.rollback();
        }
        assertThat(ApiClient.json(api.get("/v1/images/" + imageId))
                        .path("state")
                        .asString())
                .isEqualTo("available");
    }

    @Test
    void anImageDeletedWhileItsLastCloneLetsGoOfItIsFreedNotLeftWaitingForever() throws Exception {
        long imageLc =
                ApiClient.json(api.get("/v1/images/" + imageId)).path("lcId").asLong();
        JsonNode disk = api.clone(imageId);
        long diskLc = disk.path("lcId").asLong();
        backend.flatten(diskLc, (done, total) -> {});

        // a flatten's last transaction, held open: it locks the image's lc and detaches the clone
        CompletableFuture<HttpResponse<String>> deleting;
        try (Connection flatten = dataSource.getConnection()) {
            flatten.setAutoCommit(false);
            update(flatten, "SELECT 1 FROM lc WHERE lc_id = ? FOR UPDATE", imageLc);
            update(flatten, "UPDATE lc SET parent_lc_id = NULL WHERE lc_id = ?", diskLc);
            deleting = CompletableFuture.supplyAsync(() -> api.delete("/v1/images/" + imageId + "?deferred=true"));
            awaitSomeoneWaitingOnALock();
            flatten.commit();
        }

        assertThat(deleting.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(204);
        assertThat(jdbc.queryForObject("SELECT count(*) FROM resource WHERE extern_id = ?", Long.class, imageId))
                .as("the image had no dependent left once the delete could count them: gone, not deleting")
                .isZero();
        assertThat(lcIdsInDatabase()).doesNotContain(imageLc);
    }

    @Test
    void aFailedFlattenLeavesTheDiskAvailableAndSaysWhy() {
        JsonNode disk = api.clone(imageId);
        backend.failFlattens(new IllegalStateException("node n1 is out of space"));

        JsonNode failed = awaitFinished(ApiClient.json(api.action("/v1/disks/" + ApiClient.id(disk) + ":flatten")));

        assertThat(failed.path("state").asString()).isEqualTo("failed");
        assertThat(failed.path("error").asString()).contains("out of space");
        assertThat(failed.path("finishedAt").isNull()).isFalse();
        assertThat(ApiClient.json(api.get("/v1/disks/" + ApiClient.id(disk)))
                        .path("state")
                        .asString())
                .isEqualTo("available");
        assertThat(ApiClient.json(api.get("/v1/disks/" + ApiClient.id(disk) + "/lineage"))
                        .path("chain")
                        .size())
                .isEqualTo(2);

        backend.reset();
        assertThat(flattenAndAwait(disk).path("state").asString())
                .as("a retry runs again")
                .isEqualTo("succeeded");
    }

    @Test
    void anOperationLeftRunningByACrashIsResumedAtStart() {
        JsonNode disk = api.clone(imageId);
        String operation = "op-" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
        jdbc.update("UPDATE resource SET state = 'flattening' WHERE extern_id = ?", ApiClient.id(disk));
        jdbc.update(
                "INSERT INTO operation (operation_id, kind, target_extern_id, state, total)"
                        + " VALUES (?, 'flatten', ?, 'running', 2)",
                operation,
                ApiClient.id(disk));

        runner.resumeRunning();

        JsonNode finished = awaitFinished(ApiClient.json(api.get("/v1/operations/" + operation)));
        assertThat(finished.path("state").asString()).isEqualTo("succeeded");
        assertThat(ApiClient.json(api.get("/v1/disks/" + ApiClient.id(disk)))
                        .path("state")
                        .asString())
                .isEqualTo("available");
        assertThat(engine.info(disk.path("lcId").asLong()).parentLcId()).isEmpty();
    }

    @Test
    void aRetriedFlattenWithTheSameIdempotencyKeyReplaysTheOperation() {
        JsonNode disk = api.clone(imageId);
        String key = UUID.randomUUID().toString();

        HttpResponse<String> first = api.action("/v1/disks/" + ApiClient.id(disk) + ":flatten", "Idempotency-Key", key);
        HttpResponse<String> retry = api.action("/v1/disks/" + ApiClient.id(disk) + ":flatten", "Idempotency-Key", key);

        assertThat(retry.statusCode()).isEqualTo(202);
        assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
        assertThat(retry.body()).isEqualTo(first.body());
        assertThat(retry.headers().firstValue("Location"))
                .isEqualTo(first.headers().firstValue("Location"));
        awaitFinished(ApiClient.json(first));
    }

    private static void update(Connection connection, String sql, long lcId) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(sql)) {
            statement.setLong(1, lcId);
            statement.execute();
        }
    }

    /** Until a session waits on a row lock, for five seconds at most (one that never waits is what a test catches). */
    private void awaitSomeoneWaitingOnALock() throws InterruptedException {
        long deadline = System.nanoTime() + java.time.Duration.ofSeconds(5).toNanos();
        while (System.nanoTime() < deadline
                && jdbc.queryForObject(
                                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                        + " AND datname = current_database()",
                                Long.class)
                        == 0) {
            Thread.sleep(20);
        }
    }

    private JsonNode flattenAndAwait(JsonNode disk) {
        HttpResponse<String> started = api.action("/v1/disks/" + ApiClient.id(disk) + ":flatten");
        assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
        JsonNode finished = awaitFinished(ApiClient.json(started));
        assertThat(finished.path("state").asString()).as(finished.toString()).isEqualTo("succeeded");
        return finished;
    }

    private JsonNode operationOn(JsonNode disk) {
        String operation = jdbc.queryForObject(
                "SELECT operation_id FROM operation WHERE target_extern_id = ? ORDER BY created_at DESC LIMIT 1",
                String.class,
                ApiClient.id(disk));
        return ApiClient.json(api.get("/v1/operations/" + operation));
    }

    private JsonNode awaitFinished(JsonNode operation) {
        return awaitFinished(operation, new ArrayList<>());
    }

    /** Polls the operation until it is no longer running; {@code seen} collects its progress as polled. */
    private JsonNode awaitFinished(JsonNode operation, List<Long> seen) {
        return api.awaitFinished(
                opId(operation), polled -> seen.add(polled.path("done").asLong()));
    }

    /** Writes through the engine, as a client-agent would, and applies the write to {@code expected}. */
    private void write(long lc, byte[] expected, int offset, byte[] bytes) {
        engine.write(lc, offset, bytes);
        System.arraycopy(bytes, 0, expected, offset, bytes.length);
    }

    private Set<Long> lcIdsInDatabase() {
        return new HashSet<>(jdbc.queryForList("SELECT lc_id FROM lc", Long.class));
    }

    /**
     * A freed lc leaves storage just after the commit that ends the operation (the metadata goes
     * first, storage after), so a look right after the operation has finished may still find it.
     */
    private void awaitGoneFromEngine(long lcId) {
        long deadline = System.nanoTime() + java.time.Duration.ofSeconds(10).toNanos();
        while (lcIdsInEngine().contains(lcId) && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        assertThat(lcIdsInEngine()).as("lc %d freed from storage", lcId).doesNotContain(lcId);
    }

    private Set<Long> lcIdsInEngine() {
        Set<Long> ids = new HashSet<>();
        for (LcInfo info : engine.list()) {
            ids.add(info.lcId());
        }
        return ids;
    }

    private static String opId(JsonNode operation) {
        return operation.path("id").asString();
    }
}
