package dev.sprig.node.nbd;

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
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A real storage-node process (this module's executable jar, built before the integration tests
 * run) on free ports and a data directory of its own, which a test can kill with SIGKILL and start
 * again on the same data.
 */
final class NodeProcess implements AutoCloseable {

    static final Path JAR = Path.of("target", "storage-node-exec.jar");
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private final String token;
    private final Path dataDir;
    private final Path log;
    private int httpPort = freePort();
    private int nbdPort = freePort();
    private Process process;

    NodeProcess(String token, Path dataDir, Path log) {
        if (!Files.exists(JAR)) {
            throw new IllegalStateException(JAR.toAbsolutePath() + " is missing: run the module's package phase");
        }
        this.token = token;
        this.dataDir = dataDir;
        this.log = log;
        start();
    }

    /**
     * Starts the node and waits until its health answers; takes other ports if its own were taken.
     * A node that does not come up is killed before the failure is thrown: the constructor's caller
     * never gets this object to close.
     */
    void start() {
        for (int attempt = 0; ; attempt++) {
            launch();
            try {
                awaitUp();
                return;
            } catch (RuntimeException | Error notUp) {
                kill();
                if (attempt >= 2 || !(notUp instanceof IllegalStateException) || !portTaken()) {
                    throw notUp;
                }
                httpPort = freePort();
                nbdPort = freePort();
            }
        }
    }

    /** SIGKILL: no shutdown hook, no flush, no checkpoint; also to any process the node started. */
    void kill() {
        // its children before it: once it is dead they are no longer its descendants
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The node API's base URL, as api-server would hand it to another node. */
    String baseUrl() {
        return "http://127.0.0.1:" + httpPort;
    }

    /** A request to the node API with this node's token; 30 s timeout. */
    HttpRequest.Builder authorized(String path) {
        return request(path);
    }

    int nbdPort() {
        return nbdPort;
    }

    String nbdUri(String exportName) {
        return "nbd://127.0.0.1:" + nbdPort + "/" + exportName;
    }

    HttpResponse<String> get(String path) {
        return sendText(request(path).GET());
    }

    HttpResponse<String> post(String path, String json) {
        return sendText(request(path)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)));
    }

    HttpResponse<String> put(String path, String json) {
        return sendText(request(path)
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(json)));
    }

    /** A request without a body, such as DELETE, with this node's token. */
    HttpResponse<String> send(String method, String path) {
        return sendText(request(path).method(method, HttpRequest.BodyPublishers.noBody()));
    }

    /** Sends a request built from {@link #authorized}; the body as text. */
    HttpResponse<String> send(HttpRequest.Builder request) {
        return sendText(request);
    }

    @Override
    public void close() {
        if (process != null) {
            kill();
        }
    }

    private void launch() {
        try {
            List<String> command = new ArrayList<>(QuickStart.storageNode(JAR));
            command.addAll(List.of(
                    "--server.port=" + httpPort,
                    "--sprig.node.nbd.port=" + nbdPort,
                    "--sprig.node.nbd.address=127.0.0.1",
                    "--sprig.node.token=" + token,
                    "--sprig.node.data-dir=" + dataDir));
            process = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void awaitUp() {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the storage node exited; see " + log.toAbsolutePath());
            }
            try {
                HttpResponse<String> health = HTTP.send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/actuator/health"))
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
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        throw new IllegalStateException("the storage node did not come up; see " + log.toAbsolutePath());
    }

    private boolean portTaken() {
        try {
            return Files.readString(log).contains("already in use");
        } catch (IOException unreadable) {
            return false;
        }
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path))
                .header("Authorization", "Bearer " + token)
                .timeout(Duration.ofSeconds(30));
    }

    private static HttpResponse<String> sendText(HttpRequest.Builder request) {
        try {
            return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
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
}
