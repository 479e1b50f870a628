package dev.sprig.api.backend.embedded;

import dev.sprig.api.SprigApiProperties;
import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.backend.StorageBackend.NodeAccess;
import dev.sprig.engine.ChunkEngine;
import dev.sprig.nbd.server.NbdServer;
import dev.sprig.node.access.NodeToken;
import dev.sprig.node.http.NodeWebConfiguration;
import dev.sprig.node.storage.NodeDataDir;
import dev.sprig.node.storage.NodeStorageConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;

/**
 * The default, {@code sprig.api.backend.type=embedded}: the chunk engine in this process, and the
 * node API (HTTP under /v1/lcs and /v1/node, guarded by the node token; NBD on
 * {@code sprig.node.nbd.port}) served by this process too, so that a client-agent reaches the
 * disks of a one-process Sprig exactly as it reaches remote storage nodes.
 *
 * <p>It takes the node's storage and its web layer, nothing else of the storage-node application:
 * not its registration with api-server, and not its answers to failures outside the node API's
 * controllers (this application's error controller and problem mapping answer those).
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnProperty(name = "sprig.api.backend.type", havingValue = "embedded", matchIfMissing = true)
@Import({NodeStorageConfiguration.class, NodeWebConfiguration.class})
class EmbeddedBackendConfiguration {

    @Bean
    NodeDataDir nodeDataDir(SprigApiProperties properties) {
        return new NodeDataDir(
                properties.backend().embedded().dataDir().toAbsolutePath().normalize());
    }

    @Bean
    StorageBackend embeddedBackend(ChunkEngine engine, NbdServer nbd, NodeToken token) {
        return new EmbeddedBackend(engine, new NodeAccess("embedded", null, null, nbd.port(), token.value()));
    }
}
