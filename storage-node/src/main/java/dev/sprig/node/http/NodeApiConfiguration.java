package dev.sprig.node.http;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.nbd.server.NbdServer;
import dev.sprig.node.NodeProperties;
import dev.sprig.node.control.LcDefiner;
import dev.sprig.node.control.NodeJobs;
import dev.sprig.node.metrics.DataPathMetrics;
import dev.sprig.node.nbd.LcExports;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.util.List;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import tools.jackson.databind.json.JsonMapper;

/**
 * A whole storage node around a {@link NodeDataDir} that the importing application provides (the
 * storage-node application, or api-server serving its embedded engine): the chunk engine, the node
 * token, the NBD data port and the HTTP API.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(NodeProperties.class)
@Import({LcController.class, DataController.class, NodeController.class, NodeProblemAdvice.class})
public class NodeApiConfiguration {

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
    NbdServer nbdServer(ChunkEngine engine, NodeToken token, DataPathMetrics metrics, NodeProperties properties)
            throws InterruptedException {
        NodeProperties.Nbd nbd = properties.nbd();
        return NbdServer.start(
                new LcExports(engine, token, metrics),
                nbd.address(),
                nbd.port(),
                NbdServer.Settings.of(nbd.workers(), "nbd-worker"));
    }

    /** {@code engine} in {@code /actuator/health}: out of service once the engine is read-only. */
    @Bean
    EngineHealth engineHealth(ChunkEngine engine) {
        return new EngineHealth(engine);
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

    @Bean
    RangeCopier rangeCopier(ChunkEngine engine, DataStreams streams) {
        return new RangeCopier(engine, streams);
    }

    @Bean
    DataStreams dataStreams(ChunkEngine engine, NodeProperties properties, DataPathMetrics metrics) {
        return new DataStreams(engine, properties.maxBodySize().toBytes(), metrics);
    }

    /**
     * The node API's own paths, as servlet URL patterns. An application that embeds the node API
     * guards only these with the node token and leaves its other paths to its own security.
     */
    public static final List<String> PATHS =
            List.of("/v1/lcs/*", "/v1/lcs:batchDefine", "/v1/node", "/v1/node/*", "/v1/node:flush", "/v1/node:scrub");

    @Bean
    FilterRegistrationBean<BearerTokenFilter> nodeBearerTokenFilter(
            NodeToken token, JsonMapper json, NodeProperties properties) {
        var registration = new FilterRegistrationBean<>(new BearerTokenFilter(token, new ProblemWriter(json)));
        if (properties.guardAllPaths()) {
            registration.addUrlPatterns("/*");
        } else {
            registration.setUrlPatterns(PATHS);
        }
        return registration;
    }
}
