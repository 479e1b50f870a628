package dev.sprig.api.backend.remote;

import dev.sprig.api.SprigApiProperties;
import dev.sprig.api.backend.ReplicaCopies;
import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.node.NodeRegistry;
import dev.sprig.api.placement.ReplicaSets;
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
    NodeClient nodeClient(SprigApiProperties properties, JsonMapper json) {
        SprigApiProperties.NodesBackend remote = properties.backend().nodes();
        HttpClient http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(remote.callTimeout())
                .build();
        return new NodeClient(http, json, remote.callTimeout(), remote.dataTimeout());
    }

    @Bean
    NodeCalls nodeCalls(SprigApiProperties properties, CircuitBreakerRegistry breakers, RetryRegistry retries) {
        return new NodeCalls(breakers, retries, properties.backend().nodes().retryAfter());
    }

    @Bean
    Fences fences(ReplicaSets sets, NodeRegistry registry, NodeClient client, NodeCalls calls) {
        return new Fences(sets, registry, client, calls);
    }

    @Bean
    ReplicaCopies replicaCopies(
            NodeRegistry registry, NodeClient client, NodeCalls calls, SprigApiProperties properties) {
        return new RemoteReplicaCopies(
                registry, client, calls, properties.backend().nodes().retryAfter());
    }

    @Bean
    StorageBackend remoteBackend(
            NodeRegistry registry,
            ReplicaSets sets,
            NodeClient client,
            NodeCalls calls,
            Fences fences,
            JdbcClient jdbc) {
        return new RemoteBackend(registry, sets, client, calls, new FamilyLookup(jdbc), fences);
    }
}
