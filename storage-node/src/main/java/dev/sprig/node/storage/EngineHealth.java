package dev.sprig.node.storage;

import dev.sprig.engine.ChunkEngine;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * The engine's part of the node's health: {@code OUT_OF_SERVICE} (HTTP 503 on
 * {@code /actuator/health}) once a failed fsync made it read-only, with the reason among the
 * details. Not part of the liveness and readiness probes: a read-only node still serves reads, and
 * restarting it is an operator's decision after looking at its disk.
 */
class EngineHealth implements HealthIndicator {

    private final ChunkEngine engine;

    EngineHealth(ChunkEngine engine) {
        this.engine = engine;
    }

    @Override
    public Health health() {
        return engine.readOnlyReason()
                .map(reason -> Health.outOfService()
                        .withDetail("readOnly", true)
                        .withDetail("reason", reason)
                        .build())
                .orElseGet(() -> Health.up().withDetail("readOnly", false).build());
    }
}
