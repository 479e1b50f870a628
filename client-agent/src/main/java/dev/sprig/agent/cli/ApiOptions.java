package dev.sprig.agent.cli;

import java.net.URI;
import picocli.CommandLine.Option;

/** Where api-server is and the key to use: the options every command that calls it shares. */
final class ApiOptions {

    @Option(
            names = "--api",
            defaultValue = "${env:SPRIG_API:-http://127.0.0.1:8080}",
            description = "api-server base URL (default: $SPRIG_API or http://127.0.0.1:8080).")
    URI api;

    @Option(
            names = "--api-key",
            defaultValue = "${env:SPRIG_API_KEY}",
            required = true,
            description = "API key for api-server (default: $SPRIG_API_KEY).")
    String apiKey;
}
