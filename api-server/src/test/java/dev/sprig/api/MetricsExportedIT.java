package dev.sprig.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.api.StorageNodeProcesses.NodeProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * Every metric the alert rules ({@code docker/prometheus/rules}) and the Grafana dashboards
 * ({@code docker/grafana/dashboards}) query is exported by what Prometheus scrapes: api-server on the
 * storage-nodes backend and a real storage-node process, after one clone (request metrics exist
 * once a request was served). A renamed metric or a typo in a query fails here instead of leaving
 * an alert that can never fire or an empty panel.
 */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "sprig.api.api-keys=" + MetricsExportedIT.KEY,
            "sprig.api.admin-keys=" + MetricsExportedIT.ADMIN,
            "sprig.api.metrics-keys=" + MetricsExportedIT.PROMETHEUS_KEY,
            "sprig.api.backend.type=nodes",
            "sprig.api.backend.nodes.replicas=1",
            "sprig.api.backend.nodes.min-in-sync=1",
            // a node JVM just started answers its first calls slowly; timeouts are not what is tested
            "sprig.api.backend.nodes.call-timeout=5s",
            "sprig.api.recovery.enabled=false",
            "sprig.api.nodes.unreachable-after=10m",
            "sprig.api.nodes.down-after=20m",
            "sprig.api.reconcile-interval=10m"
        })
class MetricsExportedIT {

    static final String KEY = "metrics-key-0123456789";
    static final String ADMIN = "metrics-admin-0123456789";
    static final String PROMETHEUS_KEY = "metrics-prometheus-0123456789";

    /** Series Prometheus makes itself rather than scrapes. */
    static final Set<String> SYNTHETIC = Set.of("up");

    /** PromQL words that look like metric names. */
    static final Set<String> KEYWORDS = Set.of("and", "or", "unless", "bool", "offset", "inf", "nan");

    static StorageNodeProcesses nodes;

    @DynamicPropertySource
    static void dataDirs(DynamicPropertyRegistry registry) {
        TestDataDirs.isolate(registry, "metrics-exported");
    }

    @BeforeAll
    static void oneStorageNode() {
        nodes = new StorageNodeProcesses(1, TestDataDirs.fresh("metrics-exported-processes"));
    }

    @AfterAll
    static void stopNodes() {
        if (nodes != null) {
            nodes.close();
        }
    }

    @LocalServerPort
    int port;

    @Test
    void everyMetricTheAlertsAndDashboardsQueryIsExported() {
        ApiClient api = new ApiClient(port, KEY);
        NodeProcess node = nodes.node(1);
        HttpResponse<String> registered = api.withKey(ADMIN).registerNode(node.id, node.registration());
        assertThat(registered.statusCode()).as(registered.body()).isIn(200, 201);
        api.clone(api.availableImage(new byte[1 << 20]));
        // the per-node series appear once the node metrics have been read after the registration
        api.gaugeReaching(1, "sprig_nodes", "state=\"up\"");

        HttpResponse<String> apiServer = api.get("/actuator/prometheus");
        HttpResponse<String> storageNode = node.get("/actuator/prometheus");
        assertThat(apiServer.statusCode()).isEqualTo(200);
        assertThat(storageNode.statusCode()).isEqualTo(200);
        Set<String> exported = new TreeSet<>(sampleNames(apiServer.body()));
        exported.addAll(sampleNames(storageNode.body()));

        Set<String> queried = new TreeSet<>();
        PrometheusConfigIT.alertExpressions().forEach(expr -> queried.addAll(metricNames(expr)));
        PrometheusConfigIT.dashboardQueries().forEach(expr -> queried.addAll(metricNames(expr)));
        queried.removeAll(SYNTHETIC);

        assertThat(queried)
                .as("the metrics the rules and dashboards query")
                .contains(
                        "sprig_nodes",
                        "sprig_nodes_state",
                        "sprig_leader",
                        "sprig_node_engine_read_only",
                        "sprig_cache_full_total")
                .allSatisfy(name -> assertThat(exported)
                        .as(name + " among the scraped metrics")
                        .contains(name));
        // the clone-latency panels' series: a histogram of POST /v1/disks
        assertThat(apiServer.body())
                .containsPattern("http_server_requests_seconds_bucket\\{[^}]*method=\"POST\"[^}]*uri=\"/v1/disks\"");
    }

    /**
     * Debian's Prometheus itself, on docker/prometheus/prometheus.yml with only the targets and the
     * intervals changed: it scrapes api-server with a metrics key and the node with the nodes' metrics
     * token, from the files the compose file writes, and evaluates every alert rule without an error.
     */
    @Test
    void prometheusScrapesBothWithTheirMetricsCredentialsAndEvaluatesEveryRule() throws Exception {
        ApiClient api = new ApiClient(port, KEY);
        NodeProcess node = nodes.node(1);
        assertThat(api.withKey(ADMIN).registerNode(node.id, node.registration()).statusCode())
                .isIn(200, 201);
        api.gaugeReaching(1, "sprig_nodes", "state=\"up\"");

        Path dir = TestDataDirs.fresh("metrics-exported-prometheus");
        Files.createDirectories(dir.resolve("secrets"));
        Files.writeString(dir.resolve("secrets/api-server-key"), PROMETHEUS_KEY);
        Files.writeString(dir.resolve("secrets/node-metrics-token"), StorageNodeProcesses.METRICS_TOKEN);
        Files.createDirectories(dir.resolve("rules"));
        try (var rules = Files.list(PrometheusConfigIT.PROMETHEUS.resolve("rules"))) {
            for (Path rule : rules.toList()) {
                Files.copy(rule, dir.resolve("rules").resolve(rule.getFileName()));
            }
        }
        String compose = Files.readString(PrometheusConfigIT.PROMETHEUS.resolve("prometheus.yml"));
        String local = compose.replace("scrape_interval: 15s", "scrape_interval: 1s")
                .replace("evaluation_interval: 15s", "evaluation_interval: 1s")
                .replace("scrape_timeout: 10s", "scrape_timeout: 1s")
                .replace("[\"api-server:8080\"]", "[\"127.0.0.1:" + port + "\"]")
                .replace("[\"node1:8090\", \"node2:8090\", \"node3:8090\"]", "[\"127.0.0.1:" + node.httpPort + "\"]");
        assertThat(local).as("the targets put in").contains("127.0.0.1:" + port, "127.0.0.1:" + node.httpPort);
        Files.writeString(dir.resolve("prometheus.yml"), local);

        int web = StorageNodeProcesses.freePort();
        Process prometheus = new ProcessBuilder(
                        "prometheus",
                        "--config.file=" + dir.resolve("prometheus.yml"),
                        "--storage.tsdb.path=" + dir.resolve("data"),
                        "--web.listen-address=127.0.0.1:" + web)
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("prometheus.log").toFile())
                .start();
        try {
            String base = "http://127.0.0.1:" + web;
            JsonNode targets = awaitJson(base + "/api/v1/targets", body -> {
                JsonNode active = body.path("data").path("activeTargets");
                return active.size() == 2
                        && java.util.stream.StreamSupport.stream(active.spliterator(), false)
                                .allMatch(target ->
                                        target.path("health").asString().equals("up"));
            });
            assertThat(targets.path("data").path("activeTargets").findValuesAsString("scrapeUrl"))
                    .containsExactlyInAnyOrder(
                            "http://127.0.0.1:" + port + "/actuator/prometheus",
                            "http://127.0.0.1:" + node.httpPort + "/actuator/prometheus");

            JsonNode up = awaitJson(
                    base + "/api/v1/query?query="
                            + java.net.URLEncoder.encode(
                                    "sprig_nodes{state=\"up\"}", java.nio.charset.StandardCharsets.UTF_8),
                    body -> body.path("data").path("result").size() == 1);
            assertThat(up.path("data")
                            .path("result")
                            .get(0)
                            .path("value")
                            .get(1)
                            .asString())
                    .isEqualTo("1");

            JsonNode rules = awaitJson(base + "/api/v1/rules", body -> {
                List<JsonNode> all = new ArrayList<>();
                body.path("data")
                        .path("groups")
                        .forEach(group -> group.path("rules").forEach(all::add));
                return !all.isEmpty()
                        && all.stream()
                                .allMatch(rule ->
                                        !rule.path("lastEvaluation").asString().startsWith("0001"));
            });
            List<String> unhealthy = new ArrayList<>();
            rules.path("data")
                    .path("groups")
                    .forEach(group -> group.path("rules").forEach(rule -> {
                        if (!rule.path("health").asString().equals("ok")) {
                            unhealthy.add(rule.path("name").asString() + ": "
                                    + rule.path("lastError").asString());
                        }
                    }));
            assertThat(unhealthy).as("rules whose evaluation failed").isEmpty();
        } finally {
            prometheus.destroy();
            prometheus.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** GETs {@code url} until {@code done} holds of its JSON (30 s at most). */
    private static JsonNode awaitJson(String url, java.util.function.Predicate<JsonNode> done) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        JsonNode last = null;
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<String> answer = http.send(
                        HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
                if (answer.statusCode() == 200) {
                    last = ApiClient.JSON.readTree(answer.body());
                    if (done.test(last)) {
                        return last;
                    }
                }
            } catch (java.io.IOException notYetListening) {
                // Prometheus is still starting
            }
            Thread.sleep(250);
        }
        throw new AssertionError("GET " + url + " never answered what was awaited; last: " + last);
    }

    @Test
    void metricNamesAreTakenFromQueriesWithoutFunctionsLabelsOrGroupings() {
        assertThat(metricNames("histogram_quantile(0.99, sum by (instance, op, le) (rate(sprig_node_io_seconds_bucket"
                        + "{op=~\"read|write\", instance!=\"a{b}\"}[5m])))"))
                .containsExactly("sprig_node_io_seconds_bucket");
        assertThat(metricNames(
                        "max by (job) (sprig_replica_sets_degraded) - max by (job) (sprig_replica_sets_rebuilding)"
                                + " > 0 and on (job) up == 1"))
                .containsExactlyInAnyOrder("sprig_replica_sets_degraded", "sprig_replica_sets_rebuilding", "up");
    }

    /** The names of the samples of a Prometheus text exposition. */
    static Set<String> sampleNames(String exposition) {
        Set<String> names = new TreeSet<>();
        exposition
                .lines()
                .filter(line -> !line.isBlank() && !line.startsWith("#"))
                .forEach(line -> names.add(line.split("[{ ]", 2)[0]));
        return names;
    }

    private static final Pattern STRING = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"");
    private static final Pattern MATCHERS = Pattern.compile("\\{[^}]*}");
    private static final Pattern RANGE = Pattern.compile("\\[[^]]*]");
    private static final Pattern GROUPING =
            Pattern.compile("\\b(?:by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)");
    /** An identifier not followed by "(" (a function or aggregation); possessive, so no shorter prefix matches. */
    private static final Pattern NAME = Pattern.compile("(?<![\\w.])[a-zA-Z_:][a-zA-Z0-9_:]*+(?!\\s*\\()");

    /** The metric names a PromQL expression selects. */
    static Set<String> metricNames(String expr) {
        String bare = STRING.matcher(expr).replaceAll("\"\"");
        bare = MATCHERS.matcher(bare).replaceAll(" ");
        bare = RANGE.matcher(bare).replaceAll(" ");
        bare = GROUPING.matcher(bare).replaceAll(" ");
        Set<String> names = new TreeSet<>();
        Matcher matcher = NAME.matcher(bare);
        while (matcher.find()) {
            if (!KEYWORDS.contains(matcher.group())) {
                names.add(matcher.group());
            }
        }
        return names;
    }
}
