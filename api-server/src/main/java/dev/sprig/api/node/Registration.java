package dev.sprig.api.node;

/** What a node says about itself when it registers or heartbeats. */
public record Registration(
        String httpEndpoint, String nbdHost, int nbdPort, String token, long capacityBytes, long usedBytes) {}
