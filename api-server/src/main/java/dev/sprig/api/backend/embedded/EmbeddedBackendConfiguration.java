package dev.sprig.api.backend.embedded;

import dev.sprig.api.SprigApiProperties;
import dev.sprig.api.backend.StorageBackend;
import dev.sprig.node.engine.ChunkEngine;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The default: {@code sprig.api.backend.type=embedded}. */
@Configuration(proxyBeanMethods = false)
@ConditionalOnProperty(name = "sprig.api.backend.type", havingValue = "embedded", matchIfMissing = true)
class EmbeddedBackendConfiguration {

    /** Closing the engine on shutdown writes a checkpoint, so every completed write is flushed. */
    @Bean(destroyMethod = "close")
    ChunkEngine chunkEngine(SprigApiProperties properties) {
        return ChunkEngine.open(
                properties.backend().embedded().dataDir().toAbsolutePath().normalize());
    }

    @Bean
    StorageBackend embeddedBackend(ChunkEngine engine) {
        return new EmbeddedBackend(engine);
    }
}
