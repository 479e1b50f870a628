package dev.sprig.api.backend.remote;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.sprig.api.backend.StorageBackend.LcSpec;
import dev.sprig.api.backend.StorageBackend.PcRun;
import dev.sprig.api.backend.remote.NodeClient.Target;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.http.HttpClient;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * How {@link NodeClient} speaks to a node and reads its answers, against a stand-in node (a JDK
 * HTTP server) that answers what each test sets: the requests as the node reads them, and the
 * answers mapped to {@link NodeClient.Unanswered} (may be retried) or {@link NodeClient.Refused}.
 */
class NodeClientTest {

    static final JsonMapper JSON = JsonMapper.builder().build();

    record Answer(int status, String contentType, byte[] body, long delayMillis) {}

    record Seen(String method, String path, String query, String authorization, String contentType, byte[] body) {}

    HttpServer server;
    final Map<String, Answer> answers = new ConcurrentHashMap<>();
    final Map<String, Seen> seen = new ConcurrentHashMap<>();
    NodeClient client;
    Target node;

    @BeforeEach
    void standInNode() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::answer);
        server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        server.start();
        client = new NodeClient(
                HttpClient.newBuilder()
                        .version(HttpClient.Version.HTTP_1_1)
                        .connectTimeout(Duration.ofSeconds(1))
                        .build(),
                JSON,
                Duration.ofMillis(500),
                Duration.ofSeconds(2));
        node = new Target("node1", "http://127.0.0.1:" + server.getAddress().getPort(), "node-token");
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private void answer(HttpExchange exchange) throws IOException {
        String path = exchange.getRequestURI().getPath();
        seen.put(
                exchange.getRequestMethod() + " " + path,
                new Seen(
                        exchange.getRequestMethod(),
                        path,
                        exchange.getRequestURI().getQuery(),
                        exchange.getRequestHeaders().getFirst("Authorization"),
                        exchange.getRequestHeaders().getFirst("Content-Type"),
                        exchange.getRequestBody().readAllBytes()));
        Answer answer =
                answers.getOrDefault(exchange.getRequestMethod() + " " + path, new Answer(204, null, new byte[0], 0));
        try {
            Thread.sleep(answer.delayMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (answer.contentType() != null) {
            exchange.getResponseHeaders().set("Content-Type", answer.contentType());
        }
        exchange.sendResponseHeaders(answer.status(), answer.body().length == 0 ? -1 : answer.body().length);
        exchange.getResponseBody().write(answer.body());
        exchange.close();
    }

    private void json(String call, int status, String body) {
        answers.put(call, new Answer(status, "application/json", body.getBytes(StandardCharsets.UTF_8), 0));
    }

    @Test
    void aBatchDefinitionIsTheJsonTheNodeReads() {
        json("POST /v1/lcs:batchDefine", 200, "{\"created\":2,\"unchanged\":0}");

        client.define(node, List.of(new LcSpec(7, null, 1, 4096, true), new LcSpec(8, 7L, 1, 8192, false)));

        Seen define = seen.get("POST /v1/lcs:batchDefine");
        assertThat(define.authorization()).isEqualTo("Bearer node-token");
        assertThat(define.contentType()).startsWith("application/json");
        assertThat(new String(define.body(), StandardCharsets.UTF_8))
                .isEqualTo("{\"lcs\":[{\"lcId\":7,\"parentLcId\":null,\"sizeBytes\":4096,\"frozen\":true},"
                        + "{\"lcId\":8,\"parentLcId\":7,\"sizeBytes\":8192,\"frozen\":false}]}");
    }

    @Test
    void dataGoesAsOctetsBothWays() {
        byte[] bytes = "some bytes".getBytes(StandardCharsets.UTF_8);
        answers.put("GET /v1/lcs/7/data", new Answer(200, "application/octet-stream", bytes, 0));

        client.write(node, 7, 4096, ByteBuffer.wrap(bytes));
        byte[] read = client.read(node, 7, 4096, bytes.length);

        Seen write = seen.get("PUT /v1/lcs/7/data");
        assertThat(write.query()).isEqualTo("offset=4096");
        assertThat(write.contentType()).isEqualTo("application/octet-stream");
        assertThat(write.body()).isEqualTo(bytes);
        assertThat(seen.get("GET /v1/lcs/7/data").query()).isEqualTo("offset=4096&length=" + bytes.length);
        assertThat(read).isEqualTo(bytes);
    }

    @Test
    void answersAreReadAsTheNodeWritesThem() {
        json("POST /v1/lcs/9:copyFrom", 200, "{\"bytesStored\":8192}");
        json("GET /v1/lcs/9/allocation", 200, "{\"pcSizeBytes\":4194304,\"pcRuns\":[{\"firstPc\":2,\"pcCount\":3}]}");
        json("GET /v1/lcs", 200, "[{\"lcId\":9,\"parentLcId\":null,\"sizeBytes\":1,\"frozen\":true}]");
        json(
                "GET /v1/lcs/9/flatten",
                200,
                "{\"kind\":\"flatten\",\"lcId\":9,\"state\":\"FAILED\",\"done\":1,\"total\":4,"
                        + "\"startedAt\":\"2026-01-01T00:00:00Z\",\"finishedAt\":null,\"error\":\"E: x\",\"damaged\":[]}");
        Target source = new Target("node2", "http://node2:8081", "other-token");

        assertThat(client.copyFrom(node, 9, source, 3, 0, 8192)).isEqualTo(8192);
        assertThat(client.allocation(node, 9)).containsExactly(new PcRun(2, 3));
        assertThat(client.list(node))
                .hasSize(1)
                .first()
                .satisfies(lc -> assertThat(lc.parentLcId()).isNull());
        assertThat(client.flattenJob(node, 9).error()).isEqualTo("E: x");

        JsonNode copy = JSON.readTree(seen.get("POST /v1/lcs/9:copyFrom").body());
        assertThat(copy.path("source").path("endpoint").asString()).isEqualTo("http://node2:8081");
        assertThat(copy.path("source").path("token").asString()).isEqualTo("other-token");
        assertThat(copy.path("source").path("lcId").asLong()).isEqualTo(3);
        assertThat(copy.path("length").asLong()).isEqualTo(8192);
    }

    @Test
    void aRefusalIsRefusedWithTheProblemAndAFailureOrSilenceIsUnanswered() throws IOException {
        answers.put(
                "POST /v1/lcs/1:freeze",
                new Answer(
                        404,
                        "application/problem+json",
                        "{\"code\":\"NOT_FOUND\"}".getBytes(StandardCharsets.UTF_8),
                        0));
        answers.put("POST /v1/lcs/2:freeze", new Answer(502, null, new byte[0], 0));
        answers.put("POST /v1/lcs/3:freeze", new Answer(503, null, new byte[0], 0));
        answers.put("POST /v1/lcs/4:flatten", new Answer(200, null, new byte[0], 1500));

        assertThatThrownBy(() -> client.freeze(node, 1))
                .isInstanceOfSatisfying(
                        NodeClient.Refused.class,
                        refused -> assertThat(refused.status).isEqualTo(404))
                .hasMessage("node node1 refused POST /v1/lcs/1:freeze: {\"code\":\"NOT_FOUND\"}");
        assertThatThrownBy(() -> client.freeze(node, 2))
                .isInstanceOfSatisfying(
                        NodeClient.Refused.class,
                        refused -> assertThat(refused.status).isEqualTo(502));
        assertThatThrownBy(() -> client.freeze(node, 3))
                .isInstanceOf(NodeClient.Unanswered.class)
                .hasMessage("POST /v1/lcs/3:freeze answered 503");
        assertThatThrownBy(() -> client.startFlatten(node, 4))
                .as("a control call gets the call timeout, 500 ms here")
                .isInstanceOf(NodeClient.Unanswered.class)
                .hasMessageStartingWith("POST /v1/lcs/4:flatten: HttpTimeoutException");

        int closed;
        try (ServerSocket socket = new ServerSocket(0)) {
            closed = socket.getLocalPort();
        }
        Target gone = new Target("node9", "http://127.0.0.1:" + closed, "t");
        assertThatThrownBy(() -> client.delete(gone, 5))
                .isInstanceOf(NodeClient.Unanswered.class)
                .hasMessageStartingWith("DELETE /v1/lcs/5: ConnectException");
    }
}
