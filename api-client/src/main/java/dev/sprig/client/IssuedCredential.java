package dev.sprig.client;

/** {@code POST /v1/nodes/{id}:issueCredential} (admin): the bearer token a storage node registers with. */
public record IssuedCredential(String nodeId, String credential) {}
