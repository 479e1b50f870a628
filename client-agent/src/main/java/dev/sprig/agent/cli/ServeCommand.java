package dev.sprig.agent.cli;

import dev.sprig.agent.nbd.AgentNbdServer;
import dev.sprig.agent.route.AttachedDisks;
import dev.sprig.agent.route.Attachments;
import dev.sprig.agent.route.NodePool;
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
            description = "HOST:PORT to listen on (default: ${DEFAULT-VALUE}).")
    String listen;

    @Mixin
    ApiOptions api;

    @Option(
            names = "--workers",
            defaultValue = "32",
            description = "Requests forwarded to storage nodes at once (default: ${DEFAULT-VALUE}).")
    int workers;

    @Override
    public Integer call() throws Exception {
        ListenAddress address = ListenAddress.parse(listen);
        try (NodePool pool = new NodePool();
                AgentNbdServer server = AgentNbdServer.start(
                        new AttachedDisks(new Attachments(api.api, api.apiKey), pool),
                        address.host(),
                        address.port(),
                        workers)) {
            System.err.println("sprig-agent: serving nbd://" + address.host() + ":" + server.port() + "/<disk id>");
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
