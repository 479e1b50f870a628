package dev.sprig.node;

import dev.sprig.node.http.NodeApiConfiguration;
import dev.sprig.node.http.NodeDataDir;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;

/** A storage node on {@code sprig.node.data-dir}: the engine, its HTTP API and the NBD data port. */
@Configuration(proxyBeanMethods = false)
@Import(NodeApiConfiguration.class)
class NodeConfiguration {

    @Bean
    NodeDataDir nodeDataDir(NodeProperties properties) {
        return new NodeDataDir(properties.dataDir().toAbsolutePath().normalize());
    }
}
