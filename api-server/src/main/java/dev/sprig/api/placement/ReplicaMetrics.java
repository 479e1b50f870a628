package dev.sprig.api.placement;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.springframework.stereotype.Component;

/**
 * {@code sprig_replica_sets_degraded}: the replica sets with at least one member not in sync (stale or
 * rebuilding), and {@code sprig_replica_sets_rebuilding}: those with a member being rebuilt, each
 * counted by a query when a scrape reads it (cheap: only members not in sync are read, through a
 * partial index). Degraded above rebuilding: some sets lost a copy that nothing is rebuilding yet
 * (no node to put it on, or a recovery waiting for its turn).
 */
@Component
class ReplicaMetrics implements MeterBinder {

    private final ReplicaCountRepository counts;

    ReplicaMetrics(ReplicaCountRepository counts) {
        this.counts = counts;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Gauge.builder("sprig.replica.sets.degraded", counts, ReplicaCountRepository::degradedSets)
                .description("replica sets with at least one member not in sync (fewer full copies than configured)")
                .register(registry);
        Gauge.builder("sprig.replica.sets.rebuilding", counts, ReplicaCountRepository::rebuildingSets)
                .description("replica sets with a member being rebuilt (filled from another member)")
                .register(registry);
    }
}
