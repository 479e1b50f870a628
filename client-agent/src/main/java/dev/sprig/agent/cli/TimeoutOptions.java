package dev.sprig.agent.cli;

import dev.sprig.client.SprigApiClient;
import java.time.Duration;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** How long the REST commands wait for api-server: a script must not hang on a server that is gone. */
final class TimeoutOptions {

    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    @Option(
            names = "--connect-timeout",
            paramLabel = "SECONDS",
            defaultValue = "10",
            description = "Seconds to wait to connect to api-server (default: ${DEFAULT-VALUE}).")
    int connectSeconds;

    @Option(
            names = "--timeout",
            paramLabel = "SECONDS",
            defaultValue = "300",
            description = "Seconds to wait for api-server's answer to each call, but for an image's upload,"
                    + " which takes as long as its bytes do (default: ${DEFAULT-VALUE}: a single clone of an"
                    + " image that is not cached waits for its import within the call).")
    int requestSeconds;

    SprigApiClient client(ApiOptions api) {
        if (connectSeconds < 1 || requestSeconds < 1) {
            throw new ParameterException(
                    command.commandLine(), "--connect-timeout and --timeout must be at least 1 second");
        }
        return new SprigApiClient(
                api.api,
                api.apiKey,
                new SprigApiClient.Timeouts(Duration.ofSeconds(connectSeconds), Duration.ofSeconds(requestSeconds)));
    }
}
