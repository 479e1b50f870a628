package dev.sprig.agent.cli;

import dev.sprig.agent.route.AttachedDisks;
import dev.sprig.agent.route.Attachments;
import dev.sprig.agent.route.NodeChannels;
import dev.sprig.nbd.server.NbdServer;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

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

    @Override
    public Integer call() throws Exception {
        try (NodeChannels channels = new NodeChannels();
                AttachedDisks disks = new AttachedDisks(new Attachments(api.api, api.apiKey), channels);
                NbdServer server = listen(disks)) {
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    server.close();
                } catch (InterruptedException ignored) {
                    Thread.currentThread().interrupt();
                }
            }));
            server.awaitClose();
        }
        return 0;
    }
}
