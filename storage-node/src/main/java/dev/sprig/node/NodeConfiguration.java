package dev.sprig.node;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.nbd.server.NbdServer;
import dev.sprig.node.http.NodeApiConfiguration;
import dev.sprig.node.http.NodeDataDir;
import dev.sprig.node.http.NodeToken;
import dev.sprig.node.registry.NodeRegistrar;
import dev.sprig.node.registry.RegistryProperties;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import tools.jackson.databind.json.JsonMapper;

/**
 * A storage node on {@code sprig.node.data-dir}: the engine, its HTTP API and the NBD data port, and,
 * when {@code sprig.node.registry.url} is set, its registration with api-server.
 *
 * <p>The registrar is declared here and not in {@link NodeApiConfiguration}: api-server imports that
 * one to serve its embedded engine, which must not register itself as a remote node.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(RegistryProperties.class)
@Import(NodeApiConfiguration.class)
class NodeConfiguration {

    @Bean
    NodeDataDir nodeDataDir(NodeProperties properties) {
        return new NodeDataDir(properties.dataDir().toAbsolutePath().normalize());
    }

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
