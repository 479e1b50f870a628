package dev.sprig.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;
import tools.jackson.databind.JsonNode;

/**
 * The monitoring files of {@code docker/} as Prometheus reads them, checked by Prometheus's own
 * {@code promtool}: the scrape configuration, the alert rules, the rules' unit tests (input series →
 * the alerts expected, so that each alert is known to fire, not only to parse), and the PromQL of
 * every Grafana dashboard panel. That the metrics they name exist is {@link MetricsExportedIT}'s.
 */
class PrometheusConfigIT {

    static final Path PROMETHEUS = Path.of("..", "docker", "prometheus");
    static final Path DASHBOARDS = Path.of("..", "docker", "grafana", "dashboards");

    @Test
    void theScrapeConfigurationIsValidWithTheCredentialFilesComposeWrites(@TempDir Path dir) throws IOException {
        // the credential files are written by the compose file's prometheus-credentials step; promtool
        // wants them to exist, so a copy of the configuration gets empty ones where that step puts them
        Files.copy(PROMETHEUS.resolve("prometheus.yml"), dir.resolve("prometheus.yml"));
        Files.createDirectories(dir.resolve("rules"));
        for (Path rules : ruleFiles()) {
            Files.copy(rules, dir.resolve("rules").resolve(rules.getFileName()));
        }
        Files.createDirectories(dir.resolve("secrets"));
        Files.writeString(dir.resolve("secrets/api-server-key"), "key");
        Files.writeString(dir.resolve("secrets/node-metrics-token"), "token");

        Promtool checked = Promtool.run(dir, "check", "config", "prometheus.yml");

        assertThat(checked.exitCode()).as(checked.output()).isZero();
        assertThat(checked.output()).contains("SUCCESS: " + ruleFiles().size() + " rule files found");
    }

    @Test
    void theAlertRulesParse() {
        List<String> command = new ArrayList<>(List.of("check", "rules"));
        ruleFiles().forEach(rules -> command.add(PROMETHEUS.relativize(rules).toString()));

        Promtool checked = Promtool.run(PROMETHEUS, command.toArray(String[]::new));

        assertThat(checked.exitCode()).as(checked.output()).isZero();
    }

    @Test
    void everyAlertFiresAsItsUnitTestsExpect() throws IOException {
        List<String> command = new ArrayList<>(List.of("test", "rules"));
        try (Stream<Path> tests = Files.list(PROMETHEUS.resolve("tests"))) {
            tests.filter(file -> file.toString().endsWith(".yml"))
                    .sorted()
                    .forEach(file -> command.add(PROMETHEUS.relativize(file).toString()));
        }
        assertThat(command).hasSizeGreaterThan(2);

        Promtool tested = Promtool.run(PROMETHEUS, command.toArray(String[]::new));

        assertThat(tested.exitCode()).as(tested.output()).isZero();
        assertThat(tested.output()).contains("SUCCESS");
    }

    @Test
    void everyAlertHasASeverityASummaryADescriptionAndAUnitTest() throws IOException {
        String tests = Files.readString(PROMETHEUS.resolve("tests/sprig.test.yml"));
        List<String> alerts = new ArrayList<>();
        for (Path file : ruleFiles()) {
            Map<String, Object> rules = new Yaml().load(Files.readString(file));
            for (Map<String, Object> group : listOf(rules.get("groups"))) {
                for (Map<String, Object> rule : listOf(group.get("rules"))) {
                    String alert = (String) rule.get("alert");
                    alerts.add(alert);
                    assertThat(mapOf(rule.get("labels")))
                            .as(alert)
                            .extractingByKey("severity")
                            .isIn("warning", "critical");
                    assertThat(mapOf(rule.get("annotations"))).as(alert).containsKeys("summary", "description");
                    assertThat(tests)
                            .as("a firing case of " + alert + " in tests/sprig.test.yml")
                            .containsPattern("alertname: " + alert + "\\s+exp_alerts:\\s+- exp_labels:");
                }
            }
        }
        assertThat(alerts)
                .contains(
                        "SprigStorageNodeDown",
                        "SprigReplicaSetsDegraded",
                        "SprigCacheFull",
                        "SprigEngineReadOnly",
                        "SprigNoLeader",
                        "SprigImportsFailing");
    }

    /** Every panel's queries, as recording rules: promtool parses each expression. */
    @Test
    void everyDashboardQueryIsValidPromQl(@TempDir Path dir) throws IOException {
        StringBuilder rules = new StringBuilder("groups:\n  - name: dashboards\n    rules:\n");
        List<String> queries = dashboardQueries();
        for (int i = 0; i < queries.size(); i++) {
            rules.append("      - record: dashboard_query_")
                    .append(i)
                    .append("\n        expr: '")
                    .append(queries.get(i).replace("'", "''"))
                    .append("'\n");
        }
        Files.writeString(dir.resolve("dashboards.yml"), rules);

        Promtool checked = Promtool.run(dir, "check", "rules", "dashboards.yml");

        assertThat(checked.exitCode()).as(checked.output()).isZero();
        assertThat(checked.output()).contains("SUCCESS: " + queries.size() + " rules found");
    }

    /**
     * What the files above expect of {@code docker/docker-compose.yml}, checked without a Docker
     * engine: the services Prometheus scrapes and Grafana queries exist, the configuration, rules,
     * credential files, provisioning and dashboards are mounted where they are looked for, and the
     * credentials Prometheus presents are ones api-server and the nodes accept.
     */
    @Test
    @SuppressWarnings("unchecked")
    void theComposeFileGivesPrometheusAndGrafanaWhatTheirFilesExpect() throws IOException {
        Map<String, Object> compose =
                new Yaml().load(Files.readString(PROMETHEUS.resolveSibling("docker-compose.yml")));
        Map<String, Object> services = mapOf(compose.get("services"));
        Map<String, Object> config = new Yaml().load(Files.readString(PROMETHEUS.resolve("prometheus.yml")));
        for (Map<String, Object> job : listOf(config.get("scrape_configs"))) {
            for (Map<String, Object> targets : listOf(job.get("static_configs"))) {
                for (String target : (List<String>) targets.get("targets")) {
                    assertThat(services)
                            .as(job.get("job_name") + " target " + target)
                            .containsKey(target.split(":")[0]);
                }
            }
        }

        assertThat((List<String>) mapOf(services.get("prometheus")).get("volumes"))
                .contains(
                        "./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro",
                        "./prometheus/rules:/etc/prometheus/rules:ro",
                        "prometheus-credentials:/etc/prometheus/secrets:ro");
        Map<String, Object> credentials = mapOf(services.get("prometheus-credentials"));
        assertThat((List<String>) credentials.get("volumes")).contains("prometheus-credentials:/credentials");
        assertThat(String.join("\n", (List<String>) credentials.get("command")))
                .contains("/credentials/api-server-key", "/credentials/node-metrics-token");
        assertThat(Files.readString(PROMETHEUS.resolve("prometheus.yml")))
                .contains("credentials_file: secrets/api-server-key", "credentials_file: secrets/node-metrics-token");
        Map<String, Object> presented = mapOf(credentials.get("environment"));
        assertThat(String.valueOf(mapOf(mapOf(services.get("api-server")).get("environment"))
                        .get("SPRIG_API_METRICS_KEYS")))
                .as("api-server takes Prometheus's key as a metrics key (it opens the metrics alone)")
                .contains(String.valueOf(presented.get("SPRIG_PROMETHEUS_API_KEY")));
        for (String node : List.of("node1", "node2", "node3")) {
            assertThat(mapOf(mapOf(services.get(node)).get("environment")))
                    .as(node + " accepts Prometheus's metrics token")
                    .containsEntry("SPRIG_NODE_METRICS_TOKEN", presented.get("SPRIG_NODE_METRICS_TOKEN"));
        }

        assertThat((List<String>) mapOf(services.get("grafana")).get("volumes"))
                .contains(
                        "./grafana/provisioning:/etc/grafana/provisioning:ro",
                        "./grafana/dashboards:/var/lib/grafana/dashboards:ro");
        Path provisioning = DASHBOARDS.resolveSibling("provisioning");
        assertThat(Files.readString(provisioning.resolve("dashboards/sprig.yml")))
                .contains("path: /var/lib/grafana/dashboards");
        assertThat(Files.readString(provisioning.resolve("datasources/prometheus.yml")))
                .contains("uid: sprig-prometheus", "url: http://prometheus:9090");
    }

    static List<Path> ruleFiles() {
        try (Stream<Path> files = Files.list(PROMETHEUS.resolve("rules"))) {
            return files.filter(file -> file.toString().endsWith(".yml"))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The {@code expr} of every alert rule. */
    static List<String> alertExpressions() {
        List<String> exprs = new ArrayList<>();
        for (Path file : ruleFiles()) {
            try {
                Map<String, Object> rules = new Yaml().load(Files.readString(file));
                for (Map<String, Object> group : listOf(rules.get("groups"))) {
                    for (Map<String, Object> rule : listOf(group.get("rules"))) {
                        exprs.add(String.valueOf(rule.get("expr")));
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return exprs;
    }

    /** The query of every target of every panel of every dashboard. */
    static List<String> dashboardQueries() {
        List<String> queries = new ArrayList<>();
        try (Stream<Path> files = Files.list(DASHBOARDS)) {
            for (Path file :
                    files.filter(f -> f.toString().endsWith(".json")).sorted().toList()) {
                JsonNode dashboard = ApiClient.JSON.readTree(Files.readString(file));
                assertThat(dashboard.path("uid").asString()).as(file.toString()).isNotEmpty();
                for (JsonNode panel : dashboard.path("panels")) {
                    assertThat(panel.path("datasource").path("uid").asString())
                            .as(file + ": " + panel.path("title").asString())
                            .isEqualTo("sprig-prometheus");
                    for (JsonNode target : panel.path("targets")) {
                        queries.add(target.path("expr").asString());
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        assertThat(queries).isNotEmpty().doesNotContain("");
        return queries;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> mapOf(Object yaml) {
        return (Map<String, Object>) yaml;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> listOf(Object yaml) {
        return (List<Map<String, Object>>) yaml;
    }

    /** One run of promtool, in {@code dir}, with what it printed. */
    record Promtool(int exitCode, String output) {

        static Promtool run(Path dir, String... arguments) {
            List<String> command = new ArrayList<>(List.of("promtool"));
            command.addAll(List.of(arguments));
            Process process;
            try {
                process = new ProcessBuilder(command)
                        .directory(dir.toFile())
                        .redirectErrorStream(true)
                        .start();
            } catch (IOException e) {
                throw new AssertionError(
                        "promtool is missing: apt-get install prometheus (.ci/run installs it): " + e.getMessage(), e);
            }
            try {
                process.getOutputStream().close();
                String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                if (!process.waitFor(60, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    throw new AssertionError(String.join(" ", command) + " did not finish: " + output);
                }
                return new Promtool(process.exitValue(), output);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }
}
