package dev.sprig.client;

/**
 * {@code PUT /v1/nodes/{id}}: a storage node's registration and heartbeat, sent with the node's own
 * credential ({@code POST /v1/nodes/{id}:issueCredential}) as the client's key.
 */
public record RegisterNode(
        String httpEndpoint, String nbdHost, int nbdPort, String token, long capacityBytes, long usedBytes) {}
