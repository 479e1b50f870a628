package dev.sprig.api.recovery;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import org.springframework.stereotype.Component;

/**
 * {@code sprig_recovery_done_bytes} and {@code sprig_recovery_left_bytes}: over the recovery
 * operations running now, on whichever api-server runs them (read from the operations table, once
 * per scrape, through its index of running operations), so any instance's scrape answers
 * the same. Both fall to 0 when no recovery runs.
 */
@Component
class RecoveryMetrics implements MeterBinder {

    private final ScrapeCache<RecoveryRepository.RecoveryBytes> bytes;

    RecoveryMetrics(RecoveryRepository recoveries) {
        this.bytes = new ScrapeCache<>(recoveries::runningBytes);
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Gauge.builder("sprig.recovery.done", bytes, cache -> cache.get().done())
                .description("bytes the running recoveries have copied")
                .baseUnit("bytes")
                .register(registry);
        Gauge.builder("sprig.recovery.left", bytes, cache -> cache.get().left())
                .description("bytes the running recoveries have left to copy")
                .baseUnit("bytes")
                .register(registry);
    }
}
