package dev.sprig.node.storage;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.nbd.server.NbdServer;
import dev.sprig.node.NodeProperties;
import dev.sprig.node.access.NodeToken;
import dev.sprig.node.control.LcDefiner;
import dev.sprig.node.control.NodeJobs;
import dev.sprig.node.copy.ResolvedSegments;
import dev.sprig.node.copy.SourceClient;
import dev.sprig.node.fence.Fences;
import dev.sprig.node.metrics.DataPathMetrics;
import dev.sprig.node.nbd.LcExports;
import dev.sprig.node.rebuild.LiveWrites;
import dev.sprig.node.rebuild.RebuildSources;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * A node's storage around a {@link NodeDataDir} that the importing application provides (the
 * storage-node application, or api-server serving its embedded engine): the chunk engine, the node
 * token, the fences of the node's replica sets, the NBD data port with its exports, the background
 * jobs, data-path metrics and the engine's health. No HTTP endpoint: {@link dev.sprig.node.http.NodeWebConfiguration} serves the node API over
 * these beans, for an application that imports it too.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(NodeProperties.class)
public class NodeStorageConfiguration {

    /** Closing the engine on shutdown writes a checkpoint: every completed write is flushed. */
    @Bean(destroyMethod = "close")
    ChunkEngine chunkEngine(NodeDataDir dataDir, NodeProperties properties) {
        return ChunkEngine.open(dataDir.path(), properties.engine().config());
    }

    @Bean
    NodeToken nodeToken(NodeProperties properties) {
        return NodeToken.configuredOrGenerated(properties.token());
    }

    /** Closed before the engine (it depends on it), so in-flight NBD requests finish first. */
    @Bean(destroyMethod = "close")
    NbdServer nbdServer(
            ChunkEngine engine,
            NodeToken token,
            Fences fences,
            DataPathMetrics metrics,
            LiveWrites writes,
            NodeProperties properties)
            throws InterruptedException {
        NodeProperties.Nbd nbd = properties.nbd();
        return NbdServer.start(
                new LcExports(engine, token, fences, metrics, writes),
                nbd.address(),
                nbd.port(),
                NbdServer.Settings.of(nbd.workers(), "nbd-worker").withEventLoops(nbd.eventLoops()));
    }

    /**
     * Read from the data directory before the NBD port opens, so that no token is served past a
     * fence raised before a restart; a damaged file stops start-up here.
     */
    @Bean
    Fences fences(NodeDataDir dataDir) {
        return Fences.open(dataDir.path());
    }

    /** {@code engine} in {@code /actuator/health}: out of service once the engine is read-only. */
    @Bean
    EngineHealth engineHealth(ChunkEngine engine) {
        return new EngineHealth(engine);
    }

    /** The rebuild sources of the lcs being rebuilt here (decision 012): in memory, set by api-server. */
    @Bean
    RebuildSources rebuildSources() {
        return new RebuildSources();
    }

    /** The node's client of other nodes' APIs, for the segments a fill or a rebuilding write reads. */
    @Bean
    SourceClient sourceClient() {
        return new SourceClient();
    }

    /** Every live write, NBD or HTTP, goes through this: it fills what a rebuilding lc lacks first. */
    @Bean
    LiveWrites liveWrites(ChunkEngine engine, RebuildSources sources, SourceClient client) {
        return new LiveWrites(engine, sources, new ResolvedSegments(client));
    }

    @Bean
    LcDefiner lcDefiner(ChunkEngine engine) {
        return new LcDefiner(engine);
    }

    @Bean(destroyMethod = "close")
    NodeJobs nodeJobs(ChunkEngine engine) {
        return new NodeJobs(engine, Clock.systemUTC());
    }

    @Bean
    DataPathMetrics dataPathMetrics(MeterRegistry registry, ChunkEngine engine) {
        return new DataPathMetrics(registry, engine);
    }
}
