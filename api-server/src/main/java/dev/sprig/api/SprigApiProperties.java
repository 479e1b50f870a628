package dev.sprig.api;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Everything api-server reads from {@code sprig.api.*}, with its defaults.
 *
 * @param database where metadata lives
 * @param backend where data lives
 * @param apiKeys the bearer keys clients use; when empty, one is generated at start-up and logged
 *     once, so that the default run is never open
 */
@ConfigurationProperties("sprig.api")
public record SprigApiProperties(
        @DefaultValue Database database,
        @DefaultValue Backend backend,
        @DefaultValue List<String> apiKeys) {

    /**
     * @param startupTimeout how long start-up waits for an external database to answer before it
     *     gives up with one clear message (kept under 30 s so that a wrong URL fails fast)
     * @param embedded the embedded PostgreSQL used when {@code spring.datasource.url} is not set
     */
    public record Database(
            @DefaultValue("20s") Duration startupTimeout,
            @DefaultValue Embedded embedded) {}

    /**
     * @param dataDir where the embedded server keeps its files; state survives restarts
     * @param port the port it listens on (127.0.0.1); 0 picks a free one
     */
    public record Embedded(
            @DefaultValue("./data/postgres") Path dataDir,
            @DefaultValue("0") int port) {}

    /**
     * @param type {@code embedded}: the chunk engine in this process
     * @param embedded settings of the embedded engine
     */
    public record Backend(
            @DefaultValue("embedded") String type,
            @DefaultValue EmbeddedEngine embedded) {}

    /** @param dataDir where the embedded engine keeps lc data */
    public record EmbeddedEngine(
            @DefaultValue("./data/engine") Path dataDir) {}
}
