package dev.sprig.node.registry;

import java.net.URI;
import java.time.Duration;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * What a standalone storage node reads from {@code sprig.node.registry.*} to register with
 * api-server. Kept apart from {@code NodeProperties} because api-server binds those for its embedded
 * node API, and registration belongs to the standalone node alone.
 *
 * @param url api-server's base URL; unset (the default), the node does not register
 * @param credential the credential api-server issued for this node id ({@code POST
 *     /v1/nodes/{id}:issueCredential}); required when {@code url} is set. It lets its holder register
 *     as this node and nothing else
 * @param adminKey no longer used: set, the node refuses to start (an admin key does not belong on a
 *     storage node)
 * @param nodeId the node's id in the registry; default: this host's name
 * @param advertisedHttpEndpoint the URL api-server and client-agents reach this node's HTTP API on;
 *     default: {@code http://<host name>:<HTTP port>}
 * @param advertisedNbdHost the host client-agents reach this node's NBD data port on; default: this
 *     host's name
 * @param heartbeat how often the registration is repeated
 */
@ConfigurationProperties("sprig.node.registry")
public record RegistryProperties(
        @Nullable URI url,
        @Nullable String credential,
        @Nullable String adminKey,
        @Nullable String nodeId,
        @Nullable URI advertisedHttpEndpoint,
        @Nullable String advertisedNbdHost,
        @DefaultValue("5s") Duration heartbeat) {}
