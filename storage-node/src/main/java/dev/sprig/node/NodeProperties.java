package dev.sprig.node;

import dev.sprig.engine.EngineConfig;
import java.nio.file.Path;
import java.time.Duration;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * Everything a storage node reads from {@code sprig.node.*}, with its defaults.
 *
 * @param dataDir where the engine keeps its files; a restart reopens the same lcs and bytes
 * @param token the bearer token every endpoint but health requires; when unset, one is generated at
 *     start-up and logged once, so that a node is never open by default
 * @param metricsToken a bearer token that opens {@code GET /actuator/prometheus} and nothing else,
 *     for a monitoring system's scrapes; unset: only the node token opens it
 * @param maxBodySize the largest data read or write one request may carry
 * @param nbd the binary data port
 * @param engine the chunk engine's journal and checkpoint settings
 * @param guardAllPaths whether the token guards every path but health (a storage node) or only the
 *     node API's own paths (the node API inside api-server, whose other paths have API keys)
 */
@ConfigurationProperties("sprig.node")
public record NodeProperties(
        @DefaultValue("./data/node") Path dataDir,
        @Nullable String token,
        @Nullable String metricsToken,
        @DefaultValue("64MB") DataSize maxBodySize,
        @DefaultValue Nbd nbd,
        @DefaultValue("true") boolean guardAllPaths,
        @DefaultValue Engine engine) {

    /**
     * @param address the address the NBD data port listens on
     * @param port its port (10809 is NBD's registered port); 0 picks a free one
     * @param workers threads that run NBD requests against the engine
     * @param eventLoops threads that move the connections' bytes and run the small reads and rewrites
     *     in place that stay on the loop; 0 (the default) is two per core. A client holding several
     *     columns of a disk on this node has a connection per column: one loop serves them all with
     *     one wake-up where several loops would each wake, which is what nodes sharing a few cores
     *     want (bench/replicas runs four nodes on two cores with 1)
     */
    public record Nbd(
            @DefaultValue("0.0.0.0") String address,
            @DefaultValue("10809") int port,
            @DefaultValue("8") int workers,
            @DefaultValue("0") int eventLoops) {}

    /**
     * @param checkpointJournalSize the journal size at which the engine writes a checkpoint and starts
     *     a new journal (what a restart after a crash replays is at most about this much)
     * @param checkpointInterval the age of the journal's oldest record at which it does so anyway
     */
    public record Engine(
            @DefaultValue("64MB") DataSize checkpointJournalSize,
            @DefaultValue("5m") Duration checkpointInterval) {

        public EngineConfig config() {
            return EngineConfig.defaults().withCheckpoints(checkpointJournalSize.toBytes(), checkpointInterval);
        }
    }
}
