package dev.sprig.api;

import static dev.sprig.api.ImageAndDiskApiIT.assertProblem;
import static dev.sprig.api.ImageAndDiskApiIT.unique;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.api.idempotency.IdempotencyRetention;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** Idempotency-Key: a retried POST gets the first answer, not a second effect. */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "sprig.api.api-keys=" + IdempotencyIT.KEY + "," + IdempotencyIT.OTHER_KEY)
class IdempotencyIT {

    static final String KEY = "idem-key-0123456789";
    static final String OTHER_KEY = "idem-other-0123456789";

    @DynamicPropertySource
    static void dataDirs(DynamicPropertyRegistry registry) {
        TestDataDirs.isolate(registry, "idempotency");
    }

    @LocalServerPort
    int port;

    @Autowired
    JdbcTemplate jdbc;

    final HttpClient http = HttpClient.newHttpClient();
    String imageId;

    @BeforeEach
    void anAvailableImage() {
        imageId = new ApiClient(port, KEY).availableImage(new byte[4096]);
    }

    @Test
    void aRetryWithTheSameKeyAndBodyReplaysTheFirstResponse() throws Exception {
        String key = UUID.randomUUID().toString();
        String body = "{\"name\":\"" + unique("vm") + "\",\"sourceId\":\"" + imageId + "\"}";

        HttpResponse<String> first = post("/v1/disks", body, key, KEY);
        HttpResponse<String> retry = post("/v1/disks", body, key, KEY);

        assertThat(first.statusCode()).isEqualTo(201);
        assertThat(retry.statusCode()).isEqualTo(201);
        assertThat(retry.body()).isEqualTo(first.body());
        assertThat(retry.headers().firstValue("Location"))
                .isEqualTo(first.headers().firstValue("Location"));
        assertThat(retry.headers().firstValue("Idempotent-Replayed")).hasValue("true");
        assertThat(first.headers().firstValue("Idempotent-Replayed")).isEmpty();
        assertThat(disksClonedFromTheImage()).isEqualTo(1);
    }

    @Test
    void aKeyClaimedByAnApiServerThatDiedIsTakenOverAfterTwoMinutes() throws Exception {
        // the principal of KEY, as api-server names it: a digest, never the key itself
        String principal = "key-"
                + java.util.HexFormat.of()
                        .formatHex(
                                java.security.MessageDigest.getInstance("SHA-256")
                                        .digest(KEY.getBytes(java.nio.charset.StandardCharsets.UTF_8)),
                                0,
                                6);
        jdbc.update(
                "INSERT INTO idempotency_key (principal, key, method, path, request_hash, created_at)"
                        + " VALUES (?, 'orphaned-claim', 'POST', '/v1/disks', 'x', now() - interval '3 minutes')",
                principal);
        jdbc.update(
                "INSERT INTO idempotency_key (principal, key, method, path, request_hash)"
                        + " VALUES (?, 'running-claim', 'POST', '/v1/disks', 'x')",
                principal);

        HttpResponse<String> takenOver = post("/v1/disks", disk("taken-over"), "orphaned-claim", KEY);
        HttpResponse<String> stillRunning = post("/v1/disks", disk("still-running"), "running-claim", KEY);

        assertThat(takenOver.statusCode()).as(takenOver.body()).isEqualTo(201);
        assertThat(stillRunning.statusCode())
                .as("a young claim is not taken over: the key still names its first request")
                .isEqualTo(422);
    }

    @Test
    void answeredKeysAreForgottenAfterTheRetention(@Autowired IdempotencyRetention retention) throws Exception {
        HttpResponse<String> first = post("/v1/disks", disk("old"), "old-key", KEY);
        assertThat(first.statusCode()).isEqualTo(201);
        jdbc.update("UPDATE idempotency_key SET created_at = now() - interval '25 hours' WHERE key = 'old-key'");

        assertThat(retention.purge()).isGreaterThanOrEqualTo(1);

        assertThat(jdbc.queryForObject("SELECT count(*) FROM idempotency_key WHERE key = 'old-key'", Long.class))
                .isZero();
        assertThat(post("/v1/disks", disk("old"), "old-key", KEY).statusCode())
                .as("the name is taken now, so the retry that runs again is refused")
                .isEqualTo(409);
    }

    @Test
    void aRetriedBulkCloneCreatesExactlyTheRequestedCount() throws Exception {
        String key = UUID.randomUUID().toString();
        String body = "{\"sourceId\":\"" + imageId + "\",\"count\":300,\"namePrefix\":\"" + unique("fleet") + "\"}";

        assertThat(post("/v1/disks:batchCreate", body, key, KEY).statusCode()).isEqualTo(201);
        assertThat(post("/v1/disks:batchCreate", body, key, KEY).statusCode()).isEqualTo(201);

        assertThat(disksClonedFromTheImage()).isEqualTo(300);
    }

    @Test
    void theSameKeyWithAnotherRequestIs422AndDoesNothing() throws Exception {
        String key = UUID.randomUUID().toString();
        assertThat(post("/v1/disks", "{\"name\":\"" + unique("a") + "\",\"sourceId\":\"" + imageId + "\"}", key, KEY)
                        .statusCode())
                .isEqualTo(201);

        HttpResponse<String> other =
                post("/v1/disks", "{\"name\":\"" + unique("b") + "\",\"sourceId\":\"" + imageId + "\"}", key, KEY);

        assertProblem(other, 422, "IDEMPOTENCY_KEY_REUSED");
        assertThat(disksClonedFromTheImage()).isEqualTo(1);
    }

    @Test
    void keysBelongToTheCallerThatSentThem() throws Exception {
        String key = UUID.randomUUID().toString();
        String body = "{\"name\":\"" + unique("c") + "\",\"sourceId\":\"" + imageId + "\"}";
        assertThat(post("/v1/disks", body, key, KEY).statusCode()).isEqualTo(201);

        HttpResponse<String> otherCaller = post("/v1/disks", body, key, OTHER_KEY);

        assertProblem(otherCaller, 409, "ALREADY_EXISTS");
        assertThat(otherCaller.headers().firstValue("Idempotent-Replayed")).isEmpty();
    }

    @Test
    void errorsAreReplayedTooButAnUnusableKeyIsRefused() throws Exception {
        String key = UUID.randomUUID().toString();
        String body = "{\"name\":\"" + unique("d") + "\",\"sourceId\":\"img-doesnotexist0000\"}";
        assertProblem(post("/v1/disks", body, key, KEY), 404, "NOT_FOUND");
        HttpResponse<String> replay = post("/v1/disks", body, key, KEY);
        assertProblem(replay, 404, "NOT_FOUND");
        assertThat(replay.headers().firstValue("Idempotent-Replayed")).hasValue("true");

        assertProblem(post("/v1/disks", body, "x".repeat(256), KEY), 400, "INVALID_ARGUMENT");
    }

    private long disksClonedFromTheImage() {
        return jdbc.queryForObject(
                "SELECT count(*) FROM resource WHERE kind = 'disk' AND source_extern_id = ?", Long.class, imageId);
    }

    private String disk(String name) {
        return "{\"name\":\"" + name + "-" + port + "\",\"sourceId\":\"" + imageId + "\"}";
    }

    private HttpResponse<String> post(String path, String body, String idempotencyKey, String apiKey) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                        .header("Authorization", "Bearer " + apiKey)
                        .header("Content-Type", "application/json")
                        .header("Idempotency-Key", idempotencyKey)
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
