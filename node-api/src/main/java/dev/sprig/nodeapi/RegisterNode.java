package dev.sprig.nodeapi;

import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Positive;
import jakarta.validation.constraints.PositiveOrZero;

/**
 * The body of api-server's {@code PUT /v1/nodes/{nodeId}}: what a storage node says about itself
 * when it registers and at every heartbeat.
 *
 * @param httpEndpoint the URL api-server and client-agents reach the node's HTTP API on
 * @param nbdHost the host client-agents reach the node's NBD port on
 * @param token the node's control token: api-server calls the node with it and signs the node's
 *     data tokens with a key derived from it; it never leaves api-server
 * @param capacityBytes size of the file system holding the node's data directory
 * @param usedBytes bytes of segment data the node stores
 */
public record RegisterNode(
        @NotBlank String httpEndpoint,
        @NotBlank String nbdHost,
        @NotNull @Positive Integer nbdPort,
        @NotBlank String token,
        @NotNull @Positive Long capacityBytes,
        @NotNull @PositiveOrZero Long usedBytes) {}
