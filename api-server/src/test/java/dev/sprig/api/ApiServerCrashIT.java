package dev.sprig.api;

import static dev.sprig.api.ImageAndDiskApiIT.imageContent;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.api.StorageNodeProcesses.NodeProcess;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * api-server killed with SIGKILL in the middle of a bulk clone on three storage nodes: after a
 * restart the retried request (same Idempotency-Key) yields exactly the requested disks, and the
 * nodes end up holding exactly the lcs the database knows.
 */
class ApiServerCrashIT {

    static final String KEY = "crash-key-0123456789";
    static final String ADMIN = "crash-admin-0123456789";
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static final int COUNT = 1000;

    StorageNodeProcesses nodes;
    Process server;

    @AfterEach
    void stop() throws InterruptedException {
        if (server != null) {
            // SIGTERM: a graceful stop also stops its embedded PostgreSQL, which SIGKILL would leave running
            server.destroy();
            if (!server.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
                server.destroyForcibly();
            }
        }
        if (nodes != null) {
            nodes.close();
        }
    }

    @Test
    void aBulkCloneInterruptedByACrashIsRetriedToExactlyItsCountAndLeavesNoOrphanOnTheNodes() throws Exception {
        Path dir = TestDataDirs.fresh("api-server-crash");
        nodes = new StorageNodeProcesses(3, dir.resolve("nodes"));
        int port = StorageNodeProcesses.freePort();
        server = startServer(dir, port);
        ApiClient api = new ApiClient(port, KEY);
        ApiClient admin = api.withKey(ADMIN);
        for (NodeProcess node : nodes.nodes) {
            assertThat(admin.registerNode(node.id, node.registration()).statusCode())
                    .isEqualTo(201);
        }
        String image = api.availableImage(imageContent(1 << 20));
        String batch = "{\"sourceId\":\"" + image + "\",\"count\":" + COUNT + ",\"namePrefix\":\"crash\"}";

        CompletableFuture<HttpResponse<String>> interrupted =
                HTTP.sendAsync(batchRequest(port, batch), HttpResponse.BodyHandlers.ofString());
        // the clones reach the nodes before the transaction commits: kill api-server in between
        NodeProcess first = nodes.node(1);
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (first.lcIds().size() <= 1 && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        server.destroyForcibly().waitFor();
        assertThat(interrupted).failsWithin(Duration.ofSeconds(10));

        server = startServer(dir, port);
        HttpResponse<String> retried = HTTP.send(batchRequest(port, batch), HttpResponse.BodyHandlers.ofString());

        assertThat(retried.statusCode()).as(retried.body()).isEqualTo(201);
        Set<Long> known = new HashSet<>();
        ApiClient.json(retried)
                .path("disks")
                .forEach(disk -> known.add(disk.path("lcId").asLong()));
        assertThat(known).hasSize(COUNT);
        assertThat(countDisks(api)).isEqualTo(COUNT);
        known.add(ApiClient.json(api.get("/v1/images/" + image)).path("lcId").asLong());
        // two reconciliation passes (one second apart here) confirm and delete what the crash left
        long settle = System.nanoTime() + Duration.ofSeconds(60).toNanos(); // loaded machines are slow
        while (System.nanoTime() < settle
                && !nodes.nodes.stream().allMatch(node -> node.lcIds().equals(known))) {
            Thread.sleep(250);
        }
        for (NodeProcess node : nodes.nodes) {
            assertThat(node.lcIds()).as("lcs on " + node.id).isEqualTo(known);
        }
    }

    private static HttpRequest batchRequest(int port, String body) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/disks:batchCreate"))
                .header("Authorization", "Bearer " + KEY)
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", "launch-42")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
    }

    private static int countDisks(ApiClient api) {
        int count = 0;
        String token = null;
        do {
            JsonNode page = ApiClient.json(
                    api.get("/v1/disks?namePrefix=crash&pageSize=1000" + (token == null ? "" : "&pageToken=" + token)));
            count += page.path("items").size();
            token = page.path("nextPageToken").isNull()
                            || page.path("nextPageToken").isMissingNode()
                    ? null
                    : page.path("nextPageToken").asString();
        } while (token != null);
        return count;
    }

    private static Process startServer(Path dir, int port) throws Exception {
        List<String> command = ApiServerCommand.onNodes(port, KEY, ADMIN);
        command.addAll(List.of(
                // what is tested is the crash, not the nodes' speed: fresh node JVMs on a
                // loaded machine can take longer than the default 300 ms for a first define
                "--sprig.api.backend.nodes.call-timeout=3s",
                "--sprig.api.database.embedded.data-dir=" + dir.resolve("postgres")));
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(
                        dir.resolve("api-server.log").toFile()));
        // its own embedded database, whatever database the surrounding test run uses
        builder.environment().keySet().removeIf(name -> name.startsWith("SPRING_DATASOURCE"));
        Process process = builder.start();
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("api-server exited; see " + dir.resolve("api-server.log"));
            }
            try {
                HttpResponse<String> health = HTTP.send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/actuator/health"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
                if (health.statusCode() == 200) {
                    return process;
                }
            } catch (IOException notYet) {
                // starting
            }
            Thread.sleep(250);
        }
        throw new IllegalStateException("api-server did not come up; see " + dir.resolve("api-server.log"));
    }
}
