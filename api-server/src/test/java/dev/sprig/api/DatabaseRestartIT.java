package dev.sprig.api;

import static dev.sprig.api.ImageAndDiskApiIT.imageContent;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.engine.ChunkEngine;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;

/**
 * PostgreSQL restarted (a fast shutdown, then started again on the same data and port) while eight
 * clients clone disks through the REST API, half of them with an Idempotency-Key. Every answer is a
 * disk or a problem+json a client can act on (503 with Retry-After), never Spring's default error
 * body; once PostgreSQL is back every request succeeds; every acknowledged disk exists and reads as
 * its image, and no disk exists whose create was refused as not applied.
 *
 * <p>The test starts the PostgreSQL it restarts, whatever database the surrounding run uses (CI runs
 * the ITs a second time against an external server, which a test must not restart).
 */
class DatabaseRestartIT {

    static final String KEY = "db-restart-key-0123456789";
    static final int CLIENTS = 8;
    static final int MIB = 1 << 20;
    static final String PREFIX = "restart-";

    /** One answer to one create, as the client saw it. */
    record Outcome(
            String name,
            long sentAt,
            long answeredAt,
            int status,
            String contentType,
            Optional<String> retryAfter,
            String body) {

        boolean acknowledged() {
            return status == 201;
        }

        boolean problemJson() {
            return contentType.startsWith("application/problem+json");
        }

        JsonNode problem() {
            return ApiClient.JSON.readTree(body);
        }

        @Override
        public String toString() {
            return name + " -> " + status + " " + contentType + " retry-after=" + retryAfter.orElse("-") + " " + body;
        }
    }

    final HttpClient http = HttpClient.newHttpClient();
    Path dir;
    int postgresPort;
    EmbeddedPostgres postgres;

    @AfterEach
    void stopPostgres() throws IOException {
        if (postgres != null) {
            postgres.close();
        }
    }

    @Test
    void aRestartUnderLoadAnswersOnlyDisksOrRetryableProblemsAndLosesNoAcknowledgedDisk() throws Exception {
        dir = TestDataDirs.fresh("database-restart");
        postgresPort = StorageNodeProcesses.freePort();
        postgres = startPostgres();
        try (ConfigurableApplicationContext app = startApiServer()) {
            int port = Integer.parseInt(app.getEnvironment().getProperty("local.server.port", "0"));
            ApiClient api = new ApiClient(port, KEY);
            byte[] content = imageContent(MIB);
            String image = api.availableImage(content);

            var outcomes = new ConcurrentLinkedQueue<Outcome>();
            var failures = new ConcurrentLinkedQueue<Throwable>();
            var stop = new AtomicBoolean();
            List<Thread> clients = new ArrayList<>();
            for (int i = 0; i < CLIENTS; i++) {
                int client = i;
                Thread thread = new Thread(
                        () -> {
                            try {
                                for (int n = 0; !stop.get(); n++) {
                                    outcomes.add(create(port, image, PREFIX + client + "-" + n, client % 2 == 0));
                                }
                            } catch (Throwable failure) {
                                failures.add(failure);
                            }
                        },
                        "client-" + i);
                clients.add(thread);
                thread.start();
            }

            Thread.sleep(1000);
            long stopping = System.nanoTime();
            postgres.close();
            postgres = startPostgres();
            long restarted = System.nanoTime();
            awaitAnswersSentAfter(outcomes, restarted, 20 * CLIENTS, Duration.ofSeconds(20));
            stop.set(true);
            for (Thread client : clients) {
                client.join(30_000);
            }

            assertThat(failures).as("clients that failed to get an answer").isEmpty();
            assertThat(outcomes)
                    .as("requests sent while PostgreSQL was down or starting")
                    .anySatisfy(outcome -> assertThat(outcome.sentAt()).isBetween(stopping, restarted));
            assertThat(outcomes).allSatisfy(DatabaseRestartIT::isADiskOrARetryableProblem);
            assertThat(outcomes.stream()
                            .filter(outcome -> outcome.sentAt() > restarted)
                            .filter(outcome -> !outcome.acknowledged())
                            .toList())
                    .as("requests sent once PostgreSQL was back")
                    .isEmpty();

            Map<String, Outcome> byName = new HashMap<>();
            outcomes.forEach(outcome -> byName.put(outcome.name(), outcome));
            Map<String, JsonNode> existing = listDisks(api);
            Set<String> acknowledged = new HashSet<>();
            outcomes.stream().filter(Outcome::acknowledged).forEach(outcome -> acknowledged.add(outcome.name()));
            assertThat(existing.keySet()).as("acknowledged disks").containsAll(acknowledged);
            for (String name : existing.keySet()) {
                Outcome outcome = byName.get(name);
                assertThat(outcome).as("a disk no client asked for: " + name).isNotNull();
                if (!outcome.acknowledged()) {
                    assertThat(outcome.problem().path("outcome").asString())
                            .as("disk %s exists although its create answered %s", name, outcome)
                            .isEqualTo("unknown");
                }
            }
            ChunkEngine engine = app.getBean(ChunkEngine.class);
            byte[] head = Arrays.copyOf(content, 4096);
            for (JsonNode disk : existing.values()) {
                assertThat(disk.path("state").asString()).as(disk.toString()).isEqualTo("available");
                assertThat(engine.read(disk.path("lcId").asLong(), 0, head.length))
                        .as("disk %s reads as its image", disk.path("name").asString())
                        .isEqualTo(head);
            }
        }
    }

    private static void isADiskOrARetryableProblem(Outcome outcome) {
        if (outcome.acknowledged()) {
            return;
        }
        assertThat(outcome.status()).as(outcome.toString()).isEqualTo(503);
        assertThat(outcome.problemJson()).as(outcome.toString()).isTrue();
        assertThat(outcome.problem().path("code").asString())
                .as(outcome.toString())
                .isEqualTo("DATABASE_UNAVAILABLE");
        assertThat(outcome.retryAfter()).as(outcome.toString()).isPresent();
    }

    private Outcome create(int port, String image, String name, boolean withKey) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/disks"))
                .header("Authorization", "Bearer " + KEY)
                .header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"name\":\"" + name + "\",\"sourceId\":\"" + image + "\"}"));
        if (withKey) {
            request.header("Idempotency-Key", UUID.randomUUID().toString());
        }
        long sentAt = System.nanoTime();
        try {
            HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            return new Outcome(
                    name,
                    sentAt,
                    System.nanoTime(),
                    response.statusCode(),
                    response.headers().firstValue("Content-Type").orElse(""),
                    response.headers().firstValue("Retry-After"),
                    response.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static void awaitAnswersSentAfter(
            ConcurrentLinkedQueue<Outcome> outcomes, long after, int count, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (outcomes.stream().filter(outcome -> outcome.sentAt() > after).count() < count) {
            assertThat(System.nanoTime()).as("answers once PostgreSQL was back").isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    /** Every disk named with the test's prefix, by name. */
    private static Map<String, JsonNode> listDisks(ApiClient api) {
        Map<String, JsonNode> disks = new HashMap<>();
        String token = null;
        do {
            HttpResponse<String> response = api.get(
                    "/v1/disks?namePrefix=" + PREFIX + "&pageSize=1000" + (token == null ? "" : "&pageToken=" + token));
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            JsonNode page = ApiClient.json(response);
            page.path("items").forEach(disk -> disks.put(disk.path("name").asString(), disk));
            JsonNode next = page.path("nextPageToken");
            token = next.isNull() || next.isMissingNode() ? null : next.asString();
        } while (token != null);
        return disks;
    }

    /** A server of the test's own, on the same data directory and port each time. */
    private EmbeddedPostgres startPostgres() throws IOException {
        return EmbeddedPostgres.builder()
                .setDataDirectory(dir.resolve("postgres"))
                .setCleanDataDirectory(false)
                .setPort(postgresPort)
                .setRegisterShutdownHook(false)
                .setServerConfig("listen_addresses", "127.0.0.1")
                .start();
    }

    private ConfigurableApplicationContext startApiServer() {
        return new SpringApplicationBuilder(SprigApiApplication.class)
                .run(
                        "--server.port=0",
                        "--spring.datasource.url=jdbc:postgresql://127.0.0.1:" + postgresPort + "/postgres",
                        "--spring.datasource.username=postgres",
                        "--spring.datasource.password=",
                        // the production pool, not the tests' small one: the restart must find it full
                        "--spring.datasource.hikari.maximum-pool-size=20",
                        "--sprig.api.api-keys=" + KEY,
                        // thousands of clones of one image: no second copy past the clone limit
                        "--sprig.cache.max-clones-per-copy=1000000",
                        "--sprig.api.backend.embedded.data-dir=" + dir.resolve("engine"),
                        "--sprig.api.image-sources.download-dir=" + dir.resolve("downloads"));
    }
}
