package dev.sprig.agent;

import dev.sprig.testing.QuickStart;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * Real storage-node processes ({@code ../storage-node/target/storage-node-exec.jar}) on free ports,
 * registered with an api-server that runs on the nodes backend, so that a disk's PCs are spread
 * over several nodes.
 */
final class StorageNodes implements AutoCloseable {

    static final Path JAR = Path.of("..", "storage-node", "target", "storage-node-exec.jar");

    /**
     * @param registryCredential the credential with which the node registers itself and heartbeats;
     *     null for a node that a test registers by hand
     */
    private record Node(
            String id,
            int httpPort,
            int nbdPort,
            String token,
            Path data,
            @Nullable URI registry,
            @Nullable String registryCredential,
            @Nullable Process process) {

        /** This node on other ports, not yet started. */
        Node onOtherPorts() {
            return new Node(
                    id,
                    ApiServerProcess.freePort(),
                    ApiServerProcess.freePort(),
                    token,
                    data,
                    registry,
                    registryCredential,
                    null);
        }

        List<String> registration() {
            if (registry == null) {
                return List.of();
            }
            return List.of(
                    "--sprig.node.registry.url=" + registry,
                    "--sprig.node.registry.credential=" + registryCredential,
                    "--sprig.node.registry.node-id=" + id,
                    "--sprig.node.registry.advertised-http-endpoint=http://127.0.0.1:" + httpPort,
                    "--sprig.node.registry.advertised-nbd-host=127.0.0.1",
                    "--sprig.node.registry.heartbeat=1s");
        }
    }

    private final List<Node> nodes = new ArrayList<>();
    private final Path dir;

    StorageNodes(int count, Path dir) throws Exception {
        this(count, dir, null);
    }

    /**
     * Nodes that register themselves with {@code registry} and heartbeat, as deployed nodes do, each
     * with a credential issued for its id; null for nodes that a test registers once by hand
     * ({@link #registerWith}).
     */
    StorageNodes(int count, Path dir, @Nullable ApiServerProcess registry) throws Exception {
        if (!Files.exists(JAR)) {
            throw new IllegalStateException(JAR.toAbsolutePath() + " is missing: build storage-node first");
        }
        this.dir = dir;
        try {
            for (int i = 1; i <= count; i++) {
                Path data = Files.createDirectories(dir.resolve("node" + i));
                // unique to this node process: its health check tells it from another test's node
                String token =
                        "node-token-" + i + "-" + UUID.randomUUID().toString().replace("-", "");
                Node node = new Node(
                        "node" + i,
                        ApiServerProcess.freePort(),
                        ApiServerProcess.freePort(),
                        token,
                        data,
                        registry == null ? null : registry.uri(),
                        registry == null ? null : issueCredential(registry, "node" + i),
                        null);
                nodes.add(launch(node));
            }
            for (int i = 0; i < nodes.size(); i++) {
                nodes.set(i, awaitUpOnFreePorts(nodes.get(i)));
            }
        } catch (Exception | Error notUp) {
            // the caller never gets this object to close: stop the nodes already started here,
            // including those launched before a later node's credential or launch failed
            close();
            throw notUp;
        }
    }

    /**
     * Registers every node with api-server as a node's own registrar would: with a credential issued
     * for its id (admin key).
     */
    void registerWith(ApiServerProcess apiServer) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        for (Node node : nodes) {
            String credential = issueCredential(apiServer, node.id());
            String registration = "{\"httpEndpoint\":\"http://127.0.0.1:" + node.httpPort()
                    + "\",\"nbdHost\":\"127.0.0.1\",\"nbdPort\":" + node.nbdPort() + ",\"token\":\"" + node.token()
                    + "\",\"capacityBytes\":" + (100L << 30) + ",\"usedBytes\":0}";
            HttpResponse<String> response = http.send(
                    HttpRequest.newBuilder(apiServer.uri().resolve("/v1/nodes/" + node.id()))
                            .header("Authorization", "Bearer " + credential)
                            .header("Content-Type", "application/json")
                            .PUT(HttpRequest.BodyPublishers.ofString(registration))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() / 100 != 2) {
                throw new IllegalStateException("registering " + node.id() + ": " + response.body());
            }
        }
    }

    private static String issueCredential(ApiServerProcess apiServer, String nodeId) throws Exception {
        HttpResponse<String> issued = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(apiServer.uri().resolve("/v1/nodes/" + nodeId + ":issueCredential"))
                                .header("Authorization", "Bearer " + ApiServerProcess.ADMIN_KEY)
                                .POST(HttpRequest.BodyPublishers.noBody())
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        if (issued.statusCode() != 201) {
            throw new IllegalStateException("issuing a credential for " + nodeId + ": " + issued.body());
        }
        return issued.body().replaceAll(".*\"credential\":\"([^\"]+)\".*", "$1");
    }

    private Node launch(Node node) throws IOException {
        List<String> command = new ArrayList<>(QuickStart.storageNode(JAR));
        command.addAll(List.of(
                "--server.port=" + node.httpPort(),
                "--sprig.node.nbd.port=" + node.nbdPort(),
                "--sprig.node.token=" + node.token(),
                "--sprig.node.data-dir=" + node.data()));
        command.addAll(node.registration());
        Process process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(
                        dir.resolve(node.id() + ".log").toFile()))
                .start();
        return new Node(
                node.id(),
                node.httpPort(),
                node.nbdPort(),
                node.token(),
                node.data(),
                node.registry(),
                node.registryCredential(),
                process);
    }

    /**
     * Waits for a node just launched; one that exits because a port picked for it was taken in the
     * meantime is started again on other ports (a few times) rather than failing the test class.
     */
    private Node awaitUpOnFreePorts(Node launched) throws Exception {
        Node node = launched;
        for (int retries = 3; ; retries--) {
            try {
                awaitUp(node);
                return node;
            } catch (IllegalStateException exited) {
                if (retries == 0 || node.process().isAlive() || !portTaken(node)) {
                    throw exited;
                }
                node = launch(node.onOtherPorts());
            }
        }
    }

    private boolean portTaken(Node node) {
        try {
            return Files.readString(dir.resolve(node.id() + ".log")).contains("already in use");
        } catch (IOException unreadable) {
            return false;
        }
    }

    /** Starts node {@code node} again, on its ports and data, if it is not running (killed by a test). */
    void restartIfDead(int node) throws Exception {
        if (nodes.get(node).process().isAlive()) {
            return;
        }
        Node started = launch(nodes.get(node));
        nodes.set(node, started);
        try {
            awaitUp(started);
        } catch (Exception | Error notUp) {
            stop(started.process());
            throw notUp;
        }
    }

    int count() {
        return nodes.size();
    }

    String id(int node) {
        return nodes.get(node).id();
    }

    int nbdPort(int node) {
        return nodes.get(node).nbdPort();
    }

    String token(int node) {
        return nodes.get(node).token();
    }

    URI http(int node) {
        return URI.create("http://127.0.0.1:" + nodes.get(node).httpPort());
    }

    Process process(int node) {
        return nodes.get(node).process();
    }

    /** Where node {@code node} keeps its engine's files. */
    Path data(int node) {
        return nodes.get(node).data();
    }

    /** Defines lc {@code lcId} of {@code sizeBytes} on every node, as api-server does for a family's lcs. */
    void define(long lcId, long sizeBytes) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        for (int node = 0; node < nodes.size(); node++) {
            HttpResponse<String> response = http.send(
                    HttpRequest.newBuilder(http(node).resolve("/v1/lcs:batchDefine"))
                            .header("Authorization", "Bearer " + token(node))
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(
                                    "{\"lcs\":[{\"lcId\":" + lcId + ",\"sizeBytes\":" + sizeBytes + "}]}"))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() / 100 != 2) {
                throw new IllegalStateException("defining lc " + lcId + " on " + id(node) + ": " + response.body());
            }
        }
    }

    private static void awaitUp(Node node) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (System.nanoTime() < deadline) {
            if (!node.process().isAlive()) {
                throw new IllegalStateException("storage node " + node.id() + " exited; see "
                        + node.data().resolveSibling(node.id() + ".log"));
            }
            try {
                // with its own token: a port free a moment ago may have gone to another test's node,
                // which answers health as well, but refuses this token
                HttpResponse<Void> health = http.send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.httpPort() + "/v1/node"))
                                .header("Authorization", "Bearer " + node.token())
                                .timeout(Duration.ofSeconds(1))
                                .build(),
                        HttpResponse.BodyHandlers.discarding());
                if (health.statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // still starting
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("storage node " + node.id() + " did not come up");
    }

    @Override
    public void close() {
        nodes.forEach(node -> stop(node.process()));
    }

    /** SIGKILL to a node and to any process it started, and waits until the node is gone. */
    private static void stop(Process process) {
        // its children before it: once it is dead they are no longer its descendants
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
