package dev.sprig.agent;

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
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * The built api-server jar ({@code ../api-server/target/api-server.jar}, which the reactor builds
 * first) as a child process on free ports, with its embedded database and storage node in a fresh
 * directory under target/. The agent talks to it exactly as it would in production.
 */
final class ApiServerProcess implements AutoCloseable {

    static final Path JAR = Path.of("..", "api-server", "target", "api-server.jar");
    static final String KEY = "agent-it-key-0123456789";
    static final String ADMIN_KEY = "agent-it-admin-0123456789";

    final int port;
    final Path dir;
    private final List<String> command;
    private final Process process;

    private ApiServerProcess(int port, Path dir, List<String> command, Process process) {
        this.port = port;
        this.dir = dir;
        this.command = command;
        this.process = process;
    }

    URI uri() {
        return URI.create("http://127.0.0.1:" + port);
    }

    static ApiServerProcess start(String name, String... extraArguments) throws Exception {
        if (!Files.exists(JAR)) {
            throw new IllegalStateException(JAR.toAbsolutePath() + " is missing: build api-server first");
        }
        Path dir = fresh(name);
        int port = freePort();
        List<String> command = QuickStart.plainJar(JAR, "512m");
        command.addAll(List.of(
                "--server.port=" + port,
                "--sprig.api.api-keys=" + KEY,
                "--sprig.api.admin-keys=" + ADMIN_KEY,
                "--sprig.node.nbd.port=" + freePort(),
                "--sprig.api.database.embedded.data-dir=" + dir.resolve("postgres"),
                "--sprig.api.backend.embedded.data-dir=" + dir.resolve("engine")));
        command.addAll(List.of(extraArguments));
        return launch(port, dir, List.copyOf(command));
    }

    /** Kills this api-server at once (SIGKILL), as a crash would. */
    void kill() throws InterruptedException {
        process.destroyForcibly().waitFor();
    }

    /** This api-server, killed or stopped, started again on its port, database and data. */
    ApiServerProcess startAgain() throws Exception {
        if (process.isAlive()) {
            throw new IllegalStateException("api-server is still running");
        }
        return launch(port, dir, command);
    }

    private static ApiServerProcess launch(int port, Path dir, List<String> command) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(
                        dir.resolve("api-server.log").toFile()));
        // its own embedded database, whatever database the surrounding test run uses
        builder.environment().keySet().removeIf(variable -> variable.startsWith("SPRING_DATASOURCE"));
        Process process = builder.start();
        try {
            awaitUp(process, port, dir);
        } catch (Exception | Error notUp) {
            // the caller never gets this object to close: kill the api-server and its embedded database
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly().waitFor();
            throw notUp;
        }
        return new ApiServerProcess(port, dir, command, process);
    }

    private static void awaitUp(Process process, int port, Path dir) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("api-server exited; see " + dir.resolve("api-server.log"));
            }
            try {
                HttpResponse<Void> health = http.send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/actuator/health"))
                                .build(),
                        HttpResponse.BodyHandlers.discarding());
                if (health.statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // still starting
            }
            Thread.sleep(250);
        }
        throw new IllegalStateException("api-server did not come up; see " + dir.resolve("api-server.log"));
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

    static Path fresh(String name) {
        Path dir = Path.of("target", "it-data", name).toAbsolutePath();
        try {
            if (Files.exists(dir)) {
                try (Stream<Path> files = Files.walk(dir)) {
                    files.sorted(Comparator.reverseOrder())
                            .forEach(path -> path.toFile().delete());
                }
            }
            return Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
    }
}
