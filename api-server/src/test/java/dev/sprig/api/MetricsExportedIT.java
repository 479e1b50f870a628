package dev.sprig.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.api.StorageNodeProcesses.NodeProcess;
import java.net.http.HttpResponse;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

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
