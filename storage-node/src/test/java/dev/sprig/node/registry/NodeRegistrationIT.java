package dev.sprig.node.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.sprig.nbd.server.NbdServer;
import dev.sprig.node.NodeTestDirs;
import dev.sprig.node.StorageNodeApplication;
import dev.sprig.node.http.NodeWebConfiguration;
import dev.sprig.node.storage.NodeDataDir;
import dev.sprig.node.storage.NodeStorageConfiguration;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** A storage node registering with a stand-in api-server (a JDK HTTP server) over real HTTP. */
@ExtendWith(OutputCaptureExtension.class)
class NodeRegistrationIT {

    static final String CREDENTIAL = "sprignode_credential-0123456789";
    static final String TOKEN = "registering-node-token";
    static final String HEARTBEAT = "200ms";

    /** Closed last started first: nodes before the stand-in api-servers they talk to. */
    private final Deque<AutoCloseable> running = new ArrayDeque<>();

    @AfterEach
    void stopEverything() throws Exception {
        for (AutoCloseable each : running) {
            each.close();
        }
    }

    @Test
    void registersItsEndpointsTokenAndCapacityWithItsCredential() {
        FakeApiServer api = fakeApiServer(0);
        ConfigurableApplicationContext node = startNode(
                "registers",
                "--sprig.node.registry.url=" + api.url(),
                "--sprig.node.registry.credential=" + CREDENTIAL,
                "--sprig.node.registry.node-id=node-a",
                "--sprig.node.registry.advertised-http-endpoint=http://node-a.internal:8090",
                "--sprig.node.registry.advertised-nbd-host=node-a.internal");

        Put put = api.next();
        assertThat(put.method()).isEqualTo("PUT");
        assertThat(put.path()).isEqualTo("/v1/nodes/node-a");
        assertThat(put.authorization()).isEqualTo("Bearer " + CREDENTIAL);
        assertThat(put.contentType()).startsWith("application/json");
        JsonNode body = put.json();
        assertThat(body.path("httpEndpoint").asString()).isEqualTo("http://node-a.internal:8090");
        assertThat(body.path("nbdHost").asString()).isEqualTo("node-a.internal");
        assertThat(body.path("nbdPort").asInt())
                .isEqualTo(node.getBean(NbdServer.class).port());
        assertThat(body.path("token").asString()).isEqualTo(TOKEN);
        assertThat(body.path("capacityBytes").asLong()).isPositive();
        assertThat(body.path("usedBytes").isIntegralNumber()).isTrue();
        assertThat(body.path("usedBytes").asLong()).isNotNegative();
    }

    @Test
    void withoutAdvertisedNamesItRegistersAsItsHostOnceItsHttpPortAnswers() throws IOException {
        FakeApiServer api = fakeApiServer(0);
        api.probeReadiness = true;
        ConfigurableApplicationContext node = startNode(
                "defaults", "--sprig.node.registry.url=" + api.url(), "--sprig.node.registry.credential=" + CREDENTIAL);
        String host = InetAddress.getLocalHost().getHostName();

        Put put = api.next();
        assertThat(put.path()).isEqualTo("/v1/nodes/" + host);
        assertThat(put.json().path("httpEndpoint").asString()).isEqualTo("http://" + host + ":" + httpPort(node));
        assertThat(put.json().path("nbdHost").asString()).isEqualTo(host);
        assertThat(put.readinessAtArrival()).isEqualTo(200);
    }

    @Test
    void theRegistrationIsRepeatedEveryHeartbeat() {
        FakeApiServer api = fakeApiServer(0);
        startNode(
                "heartbeat",
                "--sprig.node.registry.url=" + api.url(),
                "--sprig.node.registry.credential=" + CREDENTIAL,
                "--sprig.node.registry.node-id=node-b");

        List<Put> puts = List.of(api.next(), api.next(), api.next(), api.next());

        assertThat(puts).extracting(Put::path).containsOnly("/v1/nodes/node-b");
        assertThat(puts).extracting(put -> put.json().path("token").asString()).containsOnly(TOKEN);
        long spanMillis = puts.get(3).atNanos() / 1_000_000 - puts.get(0).atNanos() / 1_000_000;
        assertThat(spanMillis).as("three heartbeats of 200 ms").isBetween(500L, 3_000L);
    }

    @Test
    void anOutageOfApiServerIsLoggedOnceWhileTheNodeKeepsServingAndItRegistersAgainAfter(CapturedOutput output) {
        FakeApiServer api = fakeApiServer(0);
        api.status = 503;
        ConfigurableApplicationContext node = startNode(
                "outage",
                "--sprig.node.registry.url=" + api.url(),
                "--sprig.node.registry.credential=" + CREDENTIAL,
                "--sprig.node.registry.node-id=node-c");
        int port = api.port();
        api.next();
        api.next();
        api.next();
        assertThat(nodeApiStatus(node)).isEqualTo(200);

        api.close();
        sleep(1_000); // several beats against a closed port
        assertThat(nodeApiStatus(node)).isEqualTo(200);

        FakeApiServer back = fakeApiServer(port);
        assertThat(back.next().path()).isEqualTo("/v1/nodes/node-c");
        awaitOutput(output, "Node node-c is registered with " + api.url() + "/v1/nodes/node-c again");
        assertThat(count(output.getOut(), "Registering node node-c with .* failed"))
                .as("one warning for the whole outage (503s, then refused connections)")
                .isEqualTo(1);
        assertThat(output.getOut()).contains("failed (HTTP 503)");
    }

    @Test
    void aNodeWithoutARegistryUrlDoesNotRegister() {
        ConfigurableApplicationContext node = startNode("no-registry");

        assertThat(node.getBeansOfType(NodeRegistrar.class)).isEmpty();
        assertThat(nodeApiStatus(node)).isEqualTo(200);
    }

    @Test
    void aRegistryUrlWithoutACredentialStopsStartUpWithAClearMessage() {
        assertThatThrownBy(() -> startNode("no-credential", "--sprig.node.registry.url=http://127.0.0.1:9"))
                .rootCause()
                .hasMessageContaining("sprig.node.registry.url is set but sprig.node.registry.credential is not");
    }

    @Test
    void theOldAdminKeySettingStopsStartUpNamingTheNewOne() {
        assertThatThrownBy(() -> startNode(
                        "admin-key",
                        "--sprig.node.registry.url=http://127.0.0.1:9",
                        "--sprig.node.registry.credential=" + CREDENTIAL,
                        "--sprig.node.registry.admin-key=admin-key-0123456789"))
                .rootCause()
                .hasMessageContaining("sprig.node.registry.admin-key is no longer used")
                .hasMessageContaining("sprig.node.registry.credential");
    }

    @Test
    void theNodeApiEmbeddedInAnotherApplicationNeverRegisters() {
        // api-server's embedded mode: it imports the node's storage and web
        // configurations, not the storage node application.
        ConfigurableApplicationContext embedded = new SpringApplicationBuilder(EmbeddedNodeApi.class)
                .web(WebApplicationType.NONE)
                .run(
                        "--sprig.node.nbd.port=0",
                        "--sprig.node.token=" + TOKEN,
                        "--sprig.node.registry.url=http://127.0.0.1:9",
                        "--sprig.node.registry.credential=" + CREDENTIAL);
        running.push(embedded);

        assertThat(embedded.getBeansOfType(NbdServer.class)).hasSize(1);
        assertThat(embedded.getBeansOfType(NodeRegistrar.class)).isEmpty();
    }

    /** Not a {@code @Configuration}, so that the storage node application's component scan skips it. */
    @EnableAutoConfiguration
    @Import({NodeStorageConfiguration.class, NodeWebConfiguration.class})
    static class EmbeddedNodeApi {

        @Bean
        NodeDataDir nodeDataDir() {
            return new NodeDataDir(NodeTestDirs.fresh("registry-embedded"));
        }
    }

    // ---------------------------------------------------------------- the parts

    private ConfigurableApplicationContext startNode(String name, String... registry) {
        var args = new ArrayList<>(List.of(
                "--server.port=0",
                "--sprig.node.data-dir=" + NodeTestDirs.fresh("registry-" + name),
                "--sprig.node.token=" + TOKEN,
                "--sprig.node.nbd.port=0",
                "--sprig.node.registry.heartbeat=" + HEARTBEAT));
        args.addAll(List.of(registry));
        ConfigurableApplicationContext node = new SpringApplicationBuilder(StorageNodeApplication.class)
                .properties("spring.config.name=" + StorageNodeApplication.CONFIG_NAME)
                .run(args.toArray(String[]::new));
        running.push(node);
        return node;
    }

    private FakeApiServer fakeApiServer(int port) {
        FakeApiServer api = FakeApiServer.start(port);
        running.push(api);
        return api;
    }

    private static int httpPort(ConfigurableApplicationContext node) {
        return ((WebServerApplicationContext) node).getWebServer().getPort();
    }

    private static int nodeApiStatus(ConfigurableApplicationContext node) {
        return get(URI.create("http://127.0.0.1:" + httpPort(node) + "/v1/node"), TOKEN);
    }

    private static int get(URI uri, @Nullable String token) {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri).GET();
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        try {
            return HttpClient.newHttpClient()
                    .send(request.build(), HttpResponse.BodyHandlers.discarding())
                    .statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static void awaitOutput(CapturedOutput output, String expected) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!output.getOut().contains(expected)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no log line containing: " + expected);
            }
            sleep(50);
        }
    }

    private static int count(String text, String regex) {
        Matcher matcher = Pattern.compile(regex).matcher(text);
        int count = 0;
        while (matcher.find()) {
            count++;
        }
        return count;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** One PUT as the stand-in api-server received it. */
    record Put(
            String method,
            String path,
            @Nullable String authorization,
            @Nullable String contentType,
            String body,
            long atNanos,
            int readinessAtArrival) {

        JsonNode json() {
            return JsonMapper.builder().build().readTree(body);
        }
    }

    /** api-server's node registry, reduced to recording what arrives and answering a set status. */
    static final class FakeApiServer implements AutoCloseable {

        private final HttpServer server;
        private final int port;
        private boolean closed;
        private final BlockingQueue<Put> received = new LinkedBlockingQueue<>();
        volatile int status = 200;
        volatile boolean probeReadiness;

        private FakeApiServer(HttpServer server) {
            this.server = server;
            this.port = server.getAddress().getPort();
        }

        static FakeApiServer start(int port) {
            try {
                HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
                var api = new FakeApiServer(server);
                server.createContext("/", api::handle);
                server.start();
                return api;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        String url() {
            return "http://127.0.0.1:" + port();
        }

        int port() {
            return port;
        }

        /** The next PUT, waiting for it up to 10 s. */
        Put next() {
            try {
                Put put = received.poll(10, TimeUnit.SECONDS);
                if (put == null) {
                    throw new AssertionError("no registration arrived within 10 s");
                }
                return put;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        private void handle(HttpExchange exchange) throws IOException {
            long at = System.nanoTime();
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            int readiness = probeReadiness ? readinessOf(body) : 0;
            received.add(new Put(
                    exchange.getRequestMethod(),
                    exchange.getRequestURI().getPath(),
                    exchange.getRequestHeaders().getFirst("Authorization"),
                    exchange.getRequestHeaders().getFirst("Content-Type"),
                    body,
                    at,
                    readiness));
            exchange.sendResponseHeaders(status, -1);
            exchange.close();
        }

        /** What the node's readiness probe answers at the advertised port, as api-server could check. */
        private static int readinessOf(String body) {
            int port = URI.create(JsonMapper.builder()
                            .build()
                            .readTree(body)
                            .path("httpEndpoint")
                            .asString())
                    .getPort();
            return get(URI.create("http://127.0.0.1:" + port + "/actuator/health/readiness"), null);
        }

        @Override
        public synchronized void close() {
            if (!closed) {
                closed = true;
                server.stop(0);
            }
        }
    }
}
