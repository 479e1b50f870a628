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
 * @param adminKeys the bearer keys of operators and storage nodes (the node registry); they also
 *     work as client keys; when empty, one is generated at start-up and logged once
 * @param nodes when a registered node counts as unreachable or down
 * @param imageSources where images may be imported from
 */
@ConfigurationProperties("sprig.api")
public record SprigApiProperties(
        @DefaultValue Database database,
        @DefaultValue Backend backend,
        @DefaultValue List<String> apiKeys,
        @DefaultValue List<String> adminKeys,
        @DefaultValue Nodes nodes,
        @DefaultValue ImageSources imageSources) {

    /**
     * @param allowedPrefixes a source URL must start with one of these (e.g. {@code https:} or
     *     {@code file:/srv/images/}); anything else is refused. {@code file:} is not allowed by
     *     default: it would let any client read any file api-server can read.
     * @param stallTimeout a download from which nothing arrives for this long fails (as does one
     *     whose server does not answer within it), rather than holding its import forever
     * @param downloadDir where downloads of http(s) sources are kept while they are imported (each
     *     is deleted when its import ends); beside the other data, not in the system's temp dir,
     *     which is often small or in memory
     */
    public record ImageSources(
            @DefaultValue({"http:", "https:"}) List<String> allowedPrefixes,
            @DefaultValue("60s") Duration stallTimeout,
            @DefaultValue("./data/downloads") Path downloadDir) {}

    /**
     * @param unreachableAfter a node whose last heartbeat is older is unreachable: nothing new is
     *     placed on it
     * @param downAfter a node whose last heartbeat is older is down
     */
    public record Nodes(
            @DefaultValue("15s") Duration unreachableAfter,
            @DefaultValue("60s") Duration downAfter) {}

    /**
     * @param startupTimeout how long start-up waits for an external database to answer before it
     *     gives up with one clear message (kept under 30 s so that a wrong URL fails fast)
     * @param embedded the embedded PostgreSQL used when {@code spring.datasource.url} is not set
     * @param retryAfter what a 503 for a lost database connection tells the client to wait (about
     *     what a restart of PostgreSQL takes)
     */
    public record Database(
            @DefaultValue("20s") Duration startupTimeout,
            @DefaultValue Embedded embedded,
            @DefaultValue("2s") Duration retryAfter) {}

    /**
     * @param dataDir where the embedded server keeps its files; state survives restarts
     * @param port the port it listens on (127.0.0.1); 0 picks a free one
     */
    public record Embedded(
            @DefaultValue("./data/postgres") Path dataDir,
            @DefaultValue("0") int port) {}

    /**
     * @param type {@code embedded}: the chunk engine in this process; {@code nodes}: the storage
     *     nodes of the node registry, over HTTP
     * @param embedded settings of the embedded engine
     * @param nodes settings of the storage-nodes backend
     */
    public record Backend(
            @DefaultValue("embedded") String type,
            @DefaultValue EmbeddedEngine embedded,
            @DefaultValue NodesBackend nodes) {}

    /**
     * @param stripeWidth how many nodes a new family's PCs are striped over (fewer if fewer are up)
     * @param callTimeout the longest one control call to a node may take (define, freeze, delete,
     *     flush); with retries, a request that needs a dead node fails within about a second
     * @param dataTimeout the longest one data call may take (a write of up to a PC)
     * @param retryAfter what a 503 for an unavailable node tells the client to wait
     */
    public record NodesBackend(
            @DefaultValue("3") int stripeWidth,
            @DefaultValue("300ms") Duration callTimeout,
            @DefaultValue("10s") Duration dataTimeout,
            @DefaultValue("5s") Duration retryAfter) {}

    /** @param dataDir where the embedded engine keeps lc data */
    public record EmbeddedEngine(
            @DefaultValue("./data/engine") Path dataDir) {}
}
