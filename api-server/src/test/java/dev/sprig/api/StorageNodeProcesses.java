package dev.sprig.api;

import dev.sprig.nodeapi.RegisterNode;
import dev.sprig.testing.QuickStart;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Real storage-node processes for api-server's remote-backend tests: the module's executable jar,
 * each on free ports with a data dir of its own, killed with SIGKILL and started again on the same
 * ports and data when a test asks. A start that fails, here or in a test's restart, kills what it
 * started: a failing test leaves no node JVM behind.
 */
final class StorageNodeProcesses implements AutoCloseable {

    static final Path JAR = Path.of("..", "storage-node", "target", "storage-node-exec.jar");
    static final Duration UP_WITHIN = Duration.ofSeconds(60);

    /** Every node's sprig.node.metrics-token: what Prometheus scrapes a node with. */
    static final String METRICS_TOKEN = "node-metrics-token-0123456789";

    /** One node: its process (null while killed), ports, token and data. */
    static final class NodeProcess {
        final String id;
        int httpPort;
        int nbdPort;
        final String token;
        final Path dataDir;
        final Path log;
        private final Duration upWithin;
        Process process;

        NodeProcess(String id, int httpPort, int nbdPort, String token, Path dataDir, Path log, Duration upWithin) {
            this.id = id;
            this.upWithin = upWithin;
            this.httpPort = httpPort;
            this.nbdPort = nbdPort;
            this.token = token;
            this.dataDir = dataDir;
            this.log = log;
        }

        String endpoint() {
            return "http://127.0.0.1:" + httpPort;
        }

        /** The body this node registers with, as a storage node sends it. */
        String registration() {
            return ApiClient.JSON.writeValueAsString(
                    new RegisterNode(endpoint(), "127.0.0.1", nbdPort, token, 100L << 30, 0L));
        }

        HttpResponse<String> get(String path) {
            return send(HttpRequest.newBuilder(URI.create(endpoint() + path))
                    .header("Authorization", "Bearer " + token)
                    .timeout(Duration.ofSeconds(10))
                    .GET()
                    .build());
        }

        /** The ids of the lcs the node holds. */
        Set<Long> lcIds() {
            Set<Long> ids = new HashSet<>();
            ApiClient.json(get("/v1/lcs")).forEach(lc -> ids.add(lc.path("lcId").asLong()));
            return ids;
        }

        HttpResponse<byte[]> read(long lcId, long offset, int length) {
            try {
                return HTTP.send(
                        HttpRequest.newBuilder(URI.create(endpoint() + "/v1/lcs/" + lcId + "/data?offset=" + offset
                                        + "&length=" + length))
                                .header("Authorization", "Bearer " + token)
                                .build(),
                        HttpResponse.BodyHandlers.ofByteArray());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }

        HttpResponse<String> post(String path, String json) {
            return send(HttpRequest.newBuilder(URI.create(endpoint() + path))
                    .header("Authorization", "Bearer " + token)
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(json))
                    .build());
        }

        /** Writes the bytes into the lc on this node alone, as api-server's data calls do on each member. */
        HttpResponse<String> write(long lcId, long offset, byte[] bytes) {
            return send(HttpRequest.newBuilder(URI.create(endpoint() + "/v1/lcs/" + lcId + "/data?offset=" + offset))
                    .header("Authorization", "Bearer " + token)
                    .header("Content-Type", "application/octet-stream")
                    .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes))
                    .build());
        }

        HttpResponse<String> delete(String path) {
            return send(HttpRequest.newBuilder(URI.create(endpoint() + path))
                    .header("Authorization", "Bearer " + token)
                    .timeout(Duration.ofSeconds(10))
                    .DELETE()
                    .build());
        }

        void start() {
            if (process != null && process.isAlive()) {
                // starting over a live process would lose the only handle that can stop it
                throw new IllegalStateException("storage node " + id + " is still running");
            }
            try {
                List<String> command = new ArrayList<>(QuickStart.storageNode(JAR));
                command.addAll(List.of(
                        "--server.port=" + httpPort,
                        "--sprig.node.nbd.port=" + nbdPort,
                        "--sprig.node.token=" + token,
                        "--sprig.node.metrics-token=" + METRICS_TOKEN,
                        "--sprig.node.data-dir=" + dataDir));
                process = new ProcessBuilder(command)
                        .redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                        .start();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** Waits until the node answers, to its own token; kills it (and what it started) if it does not. */
        void awaitUp() {
            try {
                waitForHealth();
            } catch (RuntimeException | Error notUp) {
                kill();
                throw notUp;
            }
        }

        private void waitForHealth() {
            long deadline = System.nanoTime() + upWithin.toNanos();
            int portRetries = 3;
            while (System.nanoTime() < deadline) {
                if (!process.isAlive()) {
                    if (portTaken() && portRetries-- > 0) {
                        // a port free a moment ago went to someone else's outgoing connection: take others
                        httpPort = freePort();
                        nbdPort = freePort();
                        start();
                        continue;
                    }
                    throw new IllegalStateException("storage node " + id + " exited; see " + log);
                }
                try {
                    // with its own token: a port free a moment ago may have gone to another test's node,
                    // which answers health as well, but refuses this token
                    HttpResponse<String> health = HTTP.send(
                            HttpRequest.newBuilder(URI.create(endpoint() + "/v1/node"))
                                    .header("Authorization", "Bearer " + token)
                                    .timeout(Duration.ofSeconds(1))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
                    if (health.statusCode() == 200) {
                        return;
                    }
                } catch (IOException notYet) {
                    // still starting
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
                sleep(200);
            }
            throw new IllegalStateException("storage node " + id + " did not come up; see " + log);
        }

        private boolean portTaken() {
            try {
                return Files.readString(log).contains("already in use");
            } catch (IOException unreadable) {
                return false;
            }
        }

        /** SIGKILL to the node and to any process it started, and waits until the node is gone. */
        void kill() {
            if (process == null) {
                return;
            }
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

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    final List<NodeProcess> nodes = new ArrayList<>();

    StorageNodeProcesses(int count, Path dir) {
        this(count, dir, UP_WITHIN);
    }

    /** @param upWithin how long each node has to answer its health before the start counts as failed */
    StorageNodeProcesses(int count, Path dir, Duration upWithin) {
        if (!Files.exists(JAR)) {
            throw new IllegalStateException(JAR.toAbsolutePath() + " is missing: build storage-node first");
        }
        for (int i = 1; i <= count; i++) {
            Path data = dir.resolve("node" + i);
            try {
                Files.createDirectories(data);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            nodes.add(new NodeProcess(
                    "node" + i,
                    freePort(),
                    freePort(),
                    // unique to this node process: its health check below tells it from another test's node
                    "node-token-" + i + "-"
                            + java.util.UUID.randomUUID().toString().replace("-", ""),
                    data,
                    dir.resolve("node" + i + ".log"),
                    upWithin));
        }
        try {
            nodes.forEach(NodeProcess::start);
            nodes.forEach(NodeProcess::awaitUp);
        } catch (RuntimeException | Error notUp) {
            // the caller never gets this object to close: stop the nodes already started here
            close();
            throw notUp;
        }
    }

    NodeProcess node(int oneBased) {
        return nodes.get(oneBased - 1);
    }

    @Override
    public void close() {
        nodes.forEach(NodeProcess::kill);
    }

    private static HttpResponse<String> send(HttpRequest request) {
        try {
            return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * A port that was free a moment ago, chosen below Linux's ephemeral range (32768 and up): the
     * kernel hands ports in that range to outgoing connections, and a node JVM takes seconds to bind
     * the port it was given, long enough for another test's HTTP client to have taken it.
     */
    static int freePort() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        for (int attempt = 0; attempt < 100; attempt++) {
            int port = random.nextInt(10_000, 32_768);
            try (ServerSocket socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
                return socket.getLocalPort();
            } catch (IOException taken) {
                // in use: try another
            }
        }
        throw new IllegalStateException("no free port below 32768 in 100 tries");
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
