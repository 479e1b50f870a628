package dev.sprig.api;

import dev.sprig.testing.QuickStart;
import java.nio.file.Path;
import java.util.List;

/** The command line of an api-server process that tests start on the nodes backend. */
final class ApiServerCommand {

    /** The packaged api-server, as {@code mvn package} leaves it. */
    static final Path JAR = Path.of("target", "api-server.jar");

    private ApiServerCommand() {}

    /**
     * A light JVM running the jar on {@code port} with the nodes backend, the given keys and a
     * reconciler every second; a mutable list, for the test's own settings.
     */
    static List<String> onNodes(int port, String key, String admin) {
        List<String> command = QuickStart.plainJar(JAR, "512m");
        command.addAll(List.of(
                "--server.port=" + port,
                "--sprig.api.api-keys=" + key,
                "--sprig.api.admin-keys=" + admin,
                "--sprig.api.backend.type=nodes",
                "--sprig.api.reconcile-interval=1s"));
        return command;
    }
}
