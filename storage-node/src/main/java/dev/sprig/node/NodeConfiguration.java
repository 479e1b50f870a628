package dev.sprig.node;

import dev.sprig.node.engine.ChunkEngine;
import dev.sprig.node.http.NodeApiConfiguration;
import dev.sprig.node.http.NodeDataDir;
import dev.sprig.node.http.NodeToken;
import dev.sprig.node.metrics.DataPathMetrics;
import dev.sprig.node.nbd.NbdServer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;

/** The engine this node serves, the node API in front of it and the NBD data port. */
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

    /** Closed before the engine (it depends on it), so in-flight NBD requests finish first. */
    @Bean(destroyMethod = "close")
    NbdServer nbdServer(ChunkEngine engine, NodeToken token, DataPathMetrics metrics, NodeProperties properties)
            throws InterruptedException {
        NodeProperties.Nbd nbd = properties.nbd();
        return NbdServer.start(engine, token, metrics, nbd.address(), nbd.port(), nbd.workers());
    }

    @Bean
    NodeDataDir nodeDataDir(NodeProperties properties) {
        return new NodeDataDir(properties.dataDir().toAbsolutePath().normalize());
    }
}
