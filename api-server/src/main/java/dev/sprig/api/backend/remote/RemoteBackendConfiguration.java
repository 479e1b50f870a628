package dev.sprig.api.backend.remote;

import dev.sprig.api.SprigApiProperties;
import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.node.NodeRegistry;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.retry.RetryRegistry;
import java.net.http.HttpClient;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.simple.JdbcClient;
import tools.jackson.databind.json.JsonMapper;

/** {@code sprig.api.backend.type=nodes}: the storage nodes of the node registry, over HTTP. */
@Configuration(proxyBeanMethods = false)
@ConditionalOnProperty(name = "sprig.api.backend.type", havingValue = "nodes")
class RemoteBackendConfiguration {

    @Bean
    StorageBackend remoteBackend(
            SprigApiProperties properties,
            NodeRegistry registry,
            CircuitBreakerRegistry breakers,
            RetryRegistry retries,
            JdbcClient jdbc,
            JsonMapper json) {
        SprigApiProperties.NodesBackend remote = properties.backend().nodes();
        HttpClient http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(remote.callTimeout())
                .build();
        return new RemoteBackend(
                registry,
                new NodeClient(http, json, remote.callTimeout(), remote.dataTimeout()),
                new NodeCalls(breakers, retries, remote.retryAfter()),
                new FamilyLookup(jdbc),
                remote.stripeWidth());
    }
}
