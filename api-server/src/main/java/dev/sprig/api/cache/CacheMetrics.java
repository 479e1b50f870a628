package dev.sprig.api.cache;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.function.ToDoubleFunction;
import org.jspecify.annotations.Nullable;
import org.springframework.stereotype.Component;

/**
 * {@link CacheStats} as Prometheus metrics ({@code sprig_cache_*}). The figures come from the
 * database, read at most once a second however many meters a scrape reads.
 */
@Component
class CacheMetrics implements MeterBinder {

    private static final long FRESH_NANOS = 1_000_000_000L;

    private final ImageCache cache;
    private @Nullable CacheStats last;
    private long readAt;

    CacheMetrics(ImageCache cache) {
        this.cache = cache;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        gauge(registry, "sprig.cache.capacity", "bytes", "sprig.cache.capacity", s -> s.capacityBytes());
        gauge(
                registry,
                "sprig.cache.used",
                "bytes",
                "image data held or reserved by cached copies",
                s -> s.usedBytes());
        gauge(registry, "sprig.cache.copies", null, "cached copies ready to clone from", s -> s.copies());
        gauge(registry, "sprig.cache.imports.in.flight", null, "imports running now", s -> s.importsInFlight());
        gauge(
                registry,
                "sprig.cache.copies.over.clone.limit",
                null,
                "copies with more clones than sprig.cache.max-clones-per-copy",
                s -> s.copiesOverCloneLimit());
        counter(registry, "sprig.cache.hits", "disks cloned from a cached copy", s -> s.hits());
        counter(registry, "sprig.cache.misses", "disks requested while their image was not cached", s -> s.misses());
        counter(registry, "sprig.cache.evictions", "copies evicted", s -> s.evictions());
        counter(registry, "sprig.cache.imports", "imports finished", s -> s.imports());
        counter(
                registry,
                "sprig.cache.imported.bytes",
                "image data written by finished imports",
                s -> s.bytesImported());
    }

    private void gauge(
            MeterRegistry registry,
            String name,
            @Nullable String unit,
            String description,
            ToDoubleFunction<CacheStats> value) {
        Gauge.builder(name, this, metrics -> value.applyAsDouble(metrics.stats()))
                .baseUnit(unit)
                .description(description)
                .register(registry);
    }

    private void counter(MeterRegistry registry, String name, String description, ToDoubleFunction<CacheStats> value) {
        FunctionCounter.builder(name, this, metrics -> value.applyAsDouble(metrics.stats()))
                .description(description)
                .register(registry);
    }

    private synchronized CacheStats stats() {
        long now = System.nanoTime();
        if (last == null || now - readAt > FRESH_NANOS) {
            last = cache.stats();
            readAt = now;
        }
        return last;
    }
}
