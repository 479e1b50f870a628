package dev.sprig.agent.cli;

import dev.sprig.agent.route.AttachedDisks;
import dev.sprig.agent.route.Attachments;
import dev.sprig.agent.route.NodeChannels;
import dev.sprig.nbd.server.NbdServer;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code sprig-agent serve}: NBD exports named by disk extern_id, until killed. */
@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        description = "Serve disks over NBD: nbd://HOST:PORT/<disk extern_id>.")
final class ServeCommand implements Callable<Integer> {

    @Option(
            names = "--listen",
            defaultValue = "127.0.0.1:10810",
            description = "HOST:PORT to listen on (default: ${DEFAULT-VALUE}); ignored with --socket.")
    String listen;

    @Option(names = "--socket", description = "Unix socket to listen on instead: nbd+unix:///<disk id>?socket=PATH.")
    Path socket;

    @Mixin
    ApiOptions api;

    @Option(
            names = "--workers",
            defaultValue = "4",
            description = "Threads that ask api-server for the disks clients open (default: ${DEFAULT-VALUE});"
                    + " requests themselves are forwarded on the connections' event loops.")
    int workers;

    @Option(
            names = "--node-timeout",
            paramLabel = "SECONDS",
            defaultValue = "5",
            description = "Seconds a storage node may take to answer a request before its connection is given up:"
                    + " a read goes to another copy, a write's copy on that node is dropped from its replica set"
                    + " (default: ${DEFAULT-VALUE}).")
    double nodeTimeoutSeconds;

    @Option(
            names = "--replica-wait",
            paramLabel = "SECONDS",
            defaultValue = "10",
            description = "Seconds a write waits while api-server will not drop a failed copy because too few"
                    + " would remain in sync (INSUFFICIENT_REPLICAS), sending itself to that copy again"
                    + " meanwhile; then the client gets an I/O error (default: ${DEFAULT-VALUE}).")
    double replicaWaitSeconds;

    @Spec
    CommandSpec command;

    private NbdServer listen(AttachedDisks disks) throws Exception {
        NbdServer.Settings settings = NbdServer.Settings.of(workers, "agent-worker");
        if (socket != null) {
            NbdServer server = NbdServer.start(disks, UnixDomainSocketAddress.of(socket), settings);
            System.err.println("sprig-agent: serving nbd+unix:///<disk id>?socket=" + socket);
            return server;
        }
        ListenAddress address = ListenAddress.parse(listen);
        NbdServer server = NbdServer.start(disks, address.host(), address.port(), settings);
        System.err.println("sprig-agent: serving nbd://" + address.host() + ":" + server.port() + "/<disk id>");
        return server;
    }

    private static Duration seconds(double seconds) {
        return Duration.ofNanos(Math.round(seconds * 1e9));
    }

    @Override
    public Integer call() throws Exception {
        if (!(nodeTimeoutSeconds >= 0.01) || !(replicaWaitSeconds >= 0)) {
            throw new ParameterException(
                    command.commandLine(), "--node-timeout must be at least 0.01 and --replica-wait at least 0");
        }
        try (NodeChannels channels = new NodeChannels(Duration.ofSeconds(60), seconds(nodeTimeoutSeconds));
                AttachedDisks disks =
                        new AttachedDisks(new Attachments(api.api, api.apiKey), channels, seconds(replicaWaitSeconds));
                NbdServer server = listen(disks)) {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    // the connections first, then their leases: closing them ends the disks' write leases
                    server.close();
                } catch (InterruptedException ignored) {
                    Thread.currentThread().interrupt();
                } finally {
                    disks.close();
                }
            }));
            server.awaitClose();
        }
        return 0;
    }
}
