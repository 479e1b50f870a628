package dev.sprig.node;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.nbd.server.NbdServer;
import dev.sprig.node.access.NodeToken;
import dev.sprig.node.http.NodeErrorController;
import dev.sprig.node.http.NodeFallbackProblemAdvice;
import dev.sprig.node.http.NodeWebConfiguration;
import dev.sprig.node.registry.NodeRegistrar;
import dev.sprig.node.registry.RegistryProperties;
import dev.sprig.node.storage.NodeDataDir;
import dev.sprig.node.storage.NodeStorageConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.tomcat.TomcatConnectorCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import tools.jackson.databind.json.JsonMapper;

/**
 * A storage node on {@code sprig.node.data-dir}: the engine and the NBD data port ({@link
 * NodeStorageConfiguration}), the node API ({@link NodeWebConfiguration}), the answers to failures
 * outside the node API's controllers, and, when {@code sprig.node.registry.url} is set, its
 * registration with api-server.
 *
 * <p>The registrar and the error answers are declared here and not in the two configurations:
 * api-server imports those to serve its embedded engine, which must not register itself as a remote
 * node and answers its other paths with its own error mapping.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(RegistryProperties.class)
@Import({
    NodeStorageConfiguration.class,
    NodeWebConfiguration.class,
    NodeErrorController.class,
    NodeFallbackProblemAdvice.class
})
class NodeConfiguration {

    @Bean
    NodeDataDir nodeDataDir(NodeProperties properties) {
        return new NodeDataDir(properties.dataDir().toAbsolutePath().normalize());
    }

    /**
     * Tomcat writes a response body in pieces of its socket write buffer, 8 KiB by default: a PC
     * sent to a rebuilding node ({@code GET /v1/lcs/{id}/segments/{pc}}, 4 MiB) took 512 socket
     * writes, each a pass through the loopback or network stack, and they were a large part of the
     * source node's CPU in a rebuild. 64 KiB makes that 64 writes, for 64 KiB of heap per open
     * connection (a node's HTTP clients are api-server and its peers: a few connections).
     */
    @Bean
    TomcatConnectorCustomizer largerSocketWrites() {
        return connector -> connector.setProperty("socket.appWriteBufSize", String.valueOf(WRITE_BUFFER_BYTES));
    }

    /** Tomcat's socket write buffer on a node. */
    static final int WRITE_BUFFER_BYTES = 64 * 1024;

    /** Closed before the engine and the NBD port (it depends on them), so no beat reads a closed engine. */
    @Bean(destroyMethod = "close")
    @ConditionalOnProperty("sprig.node.registry.url")
    NodeRegistrar nodeRegistrar(
            RegistryProperties registry,
            NodeToken token,
            ChunkEngine engine,
            NbdServer nbd,
            NodeDataDir dataDir,
            JsonMapper json) {
        return new NodeRegistrar(registry, token, engine, nbd, dataDir.path(), json);
    }
}
