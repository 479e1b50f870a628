package dev.sprig.node.http;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.node.NodeProperties;
import dev.sprig.node.access.NodeToken;
import dev.sprig.node.copy.RangeCopier;
import dev.sprig.node.copy.SegmentPuller;
import dev.sprig.node.copy.SegmentRepairer;
import dev.sprig.node.copy.SourceClient;
import dev.sprig.node.metrics.DataPathMetrics;
import dev.sprig.node.rebuild.LiveWrites;
import java.util.List;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import tools.jackson.databind.json.JsonMapper;

/**
 * The node API over HTTP: its controllers, their problem+json mapping ({@link NodeProblemAdvice},
 * which answers for these controllers alone) and the node-token filter. Serves the beans of {@link
 * dev.sprig.node.storage.NodeStorageConfiguration}, which the importing application imports too
 * (the storage-node application, or api-server serving its embedded engine).
 *
 * <p>What an application answers for failures outside these controllers (an unknown path, a wrong
 * method, {@code /error}) stays its own: the storage-node application declares {@link
 * NodeErrorController} and {@link NodeFallbackProblemAdvice}; api-server has its own.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(NodeProperties.class)
@Import({
    LcController.class,
    DataController.class,
    NodeController.class,
    FenceController.class,
    SegmentController.class,
    RebuildSourceController.class,
    RepairController.class,
    NodeProblemAdvice.class
})
public class NodeWebConfiguration {

    @Bean
    DataStreams dataStreams(ChunkEngine engine, LiveWrites writes, NodeProperties properties, DataPathMetrics metrics) {
        return new DataStreams(engine, writes, properties.maxBodySize().toBytes(), metrics);
    }

    /** A copied range is held to the data API's rules (body size, the lc's bounds) before it is read. */
    @Bean
    RangeCopier rangeCopier(ChunkEngine engine, DataStreams streams) {
        return new RangeCopier(engine, streams::checkRange);
    }

    /** Heals an lc from its copy on another node, segment by segment. */
    @Bean
    SegmentPuller segmentPuller(ChunkEngine engine, JsonMapper json, SourceClient client) {
        return new SegmentPuller(engine, json, client);
    }

    /** Repairs an lc's segments from another member's copy: a replica scrub's repair. */
    @Bean
    SegmentRepairer segmentRepairer(ChunkEngine engine, SourceClient client) {
        return new SegmentRepairer(engine, client);
    }

    /**
     * The node API's own paths, as servlet URL patterns. An application that embeds the node API
     * guards only these with the node token and leaves its other paths to its own security.
     */
    public static final List<String> PATHS = List.of(
            "/v1/lcs/*",
            "/v1/lcs:batchDefine",
            "/v1/node",
            "/v1/node/*",
            "/v1/node:flush",
            "/v1/node:scrub",
            "/v1/fences",
            "/v1/fences/*");

    @Bean
    FilterRegistrationBean<BearerTokenFilter> nodeBearerTokenFilter(
            NodeToken token, JsonMapper json, NodeProperties properties) {
        var registration = new FilterRegistrationBean<>(
                new BearerTokenFilter(token, properties.metricsToken(), new ProblemWriter(json)));
        if (properties.guardAllPaths()) {
            registration.addUrlPatterns("/*");
        } else {
            registration.setUrlPatterns(PATHS);
        }
        return registration;
    }
}
