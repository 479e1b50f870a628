package dev.sprig.client;

import java.time.Instant;

/** A registered storage node, its state and its share of the replica sets. */
public record NodeView(
        String nodeId,
        String state,
        String httpEndpoint,
        String nbdHost,
        int nbdPort,
        long capacityBytes,
        long usedBytes,
        boolean draining,
        Instant registeredAt,
        Instant lastHeartbeatAt,
        long replicaSets,
        long degradedReplicaSets,
        long rebuildingReplicaSets,
        long repairedSegments) {}
