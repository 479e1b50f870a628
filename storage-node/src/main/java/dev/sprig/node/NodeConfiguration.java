package dev.sprig.node;

import dev.sprig.node.engine.ChunkEngine;
import dev.sprig.node.http.NodeApiConfiguration;
import dev.sprig.node.http.NodeDataDir;
import dev.sprig.node.http.NodeToken;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;

/** The engine this node serves, and the node API in front of it. */
@Configuration(proxyBeanMethods = false)
@Import(NodeApiConfiguration.class)
class NodeConfiguration {

    /** Closing the engine on shutdown writes a checkpoint: every completed write is flushed. */
    @Bean(destroyMethod = "close")
    ChunkEngine chunkEngine(NodeDataDir dataDir) {
        return ChunkEngine.open(dataDir.path());
    }

    @Bean
    NodeToken nodeToken(NodeProperties properties) {
        return NodeToken.configuredOrGenerated(properties.token());
    }

    @Bean
    NodeDataDir nodeDataDir(NodeProperties properties) {
        return new NodeDataDir(properties.dataDir().toAbsolutePath().normalize());
    }
}
