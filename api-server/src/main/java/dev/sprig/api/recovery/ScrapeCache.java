package dev.sprig.api.recovery;

import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * A query's answer kept for a second, so that the gauges one scrape reads from it cost one query,
 * not one each; a scrape a second later reads it afresh.
 */
final class ScrapeCache<T> {

    private static final long KEEP_NANOS = 1_000_000_000L;

    private record Read<T>(T value, long at) {}

    private final Supplier<T> query;
    private volatile @Nullable Read<T> last;

    ScrapeCache(Supplier<T> query) {
        this.query = query;
    }

    T get() {
        Read<T> read = last;
        long now = System.nanoTime();
        if (read == null || now - read.at() > KEEP_NANOS) {
            read = new Read<>(query.get(), now);
            last = read;
        }
        return read.value();
    }
}
