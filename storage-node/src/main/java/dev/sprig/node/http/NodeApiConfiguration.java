package dev.sprig.node.http;

import dev.sprig.node.NodeProperties;
import dev.sprig.node.control.LcDefiner;
import dev.sprig.node.control.NodeJobs;
import dev.sprig.node.engine.ChunkEngine;
import dev.sprig.node.metrics.DataPathMetrics;
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
 * The node API around a {@link ChunkEngine}, a {@link NodeToken} and a {@link NodeDataDir} that the
 * importing application provides: the storage node itself, or api-server serving its embedded engine.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(NodeProperties.class)
@Import({LcController.class, DataController.class, NodeController.class, NodeProblemAdvice.class})
public class NodeApiConfiguration {

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
