package dev.sprig.api.recovery;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.function.ToLongFunction;
import org.springframework.stereotype.Component;

/**
 * {@code sprig_replica_repairs{outcome, reason}}: the segments replica scrubs repaired (outcome
 * {@code repaired}, reason {@code damaged}: rotted on disk, or {@code differed}: unlike the
 * majority's) and those they found wrong with no copy to trust ({@code unresolved}), ever, read
 * from the database once per scrape so that every api-server answers the same.
 */
@Component
class ReplicaRepairMetrics implements MeterBinder {

    private final ScrapeCache<ReplicaRepairRepository.Totals> totals;

    ReplicaRepairMetrics(ReplicaRepairRepository repairs) {
        this.totals = new ScrapeCache<>(repairs::totals);
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        gauge(registry, "repaired", "damaged", ReplicaRepairRepository.Totals::repairedDamaged);
        gauge(registry, "repaired", "differed", ReplicaRepairRepository.Totals::repairedDiffered);
        gauge(registry, "unresolved", "any", ReplicaRepairRepository.Totals::unresolved);
    }

    private void gauge(
            MeterRegistry registry,
            String outcome,
            String reason,
            ToLongFunction<ReplicaRepairRepository.Totals> count) {
        Gauge.builder("sprig.replica.repairs", totals, cache -> count.applyAsLong(cache.get()))
                .description("segments replica scrubs found wrong on a member: repaired from a good one, or unresolved")
                .tag("outcome", outcome)
                .tag("reason", reason)
                .register(registry);
    }
}
