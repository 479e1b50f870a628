package dev.sprig.node.metrics;

import dev.sprig.engine.ChunkEngine;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Bytes, operations and latency of the data path (HTTP and NBD alike), exported at
 * {@code /actuator/prometheus} as {@code sprig_node_bytes_total{direction}},
 * {@code sprig_node_io_seconds{op}} (a histogram; its count is the number of operations),
 * {@code sprig_node_redirects_total}, {@code sprig_node_flushes_total},
 * {@code sprig_node_corruption_detected_total} and {@code sprig_node_fenced_requests_total}, and the
 * engine's state as {@code sprig_node_engine_read_only} (1 once a failed fsync made it read-only:
 * the engine never retries an fsync, so this stays 1 until the node is restarted). Meters are built
 * once: the data path only records.
 */
public final class DataPathMetrics {

    /** The data-path operations that are timed. */
    public enum Op {
        READ,
        WRITE,
        FLUSH,
        WRITE_ZEROES,
        TRIM;

        String tag() {
            return this == WRITE_ZEROES ? "writeZeroes" : name().toLowerCase(Locale.ROOT);
        }
    }

    private final Counter bytesRead;
    private final Counter bytesWritten;
    private final Counter corruptionDetected;
    private final Counter fencedRequests;
    private final Map<Op, Timer> timers = new EnumMap<>(Op.class);

    public DataPathMetrics(MeterRegistry registry, ChunkEngine engine) {
        FunctionCounter.builder(
                        "sprig.node.redirects", engine, e -> e.counters().redirects())
                .description("first writes that copied a segment into the writing lc")
                .register(registry);
        FunctionCounter.builder("sprig.node.flushes", engine, e -> e.counters().flushes())
                .description("completed flushes")
                .register(registry);
        Gauge.builder(
                        "sprig.node.engine.read.only",
                        engine,
                        e -> e.readOnlyReason().isPresent() ? 1 : 0)
                .description("1 once an fsync failed and the engine refuses writes (its reason is in"
                        + " /actuator/health and the log), 0 otherwise")
                .register(registry);
        this.bytesRead = Counter.builder("sprig.node.bytes")
                .tag("direction", "read")
                .baseUnit("bytes")
                .register(registry);
        this.bytesWritten = Counter.builder("sprig.node.bytes")
                .tag("direction", "write")
                .baseUnit("bytes")
                .register(registry);
        this.corruptionDetected = Counter.builder("sprig.node.corruption.detected")
                .description("reads refused because stored bytes did not match their CRC32C")
                .register(registry);
        this.fencedRequests = Counter.builder("sprig.node.fenced.requests")
                .description("NBD requests and export opens refused because their data token's epoch is below"
                        + " its replica set's fence")
                .register(registry);
        for (Op op : Op.values()) {
            timers.put(
                    op,
                    Timer.builder("sprig.node.io")
                            .tag("op", op.tag())
                            .publishPercentileHistogram()
                            .register(registry));
        }
    }

    public <T> T time(Op op, Supplier<T> io) {
        return timers.get(op).record(io);
    }

    public void time(Op op, Runnable io) {
        timers.get(op).record(io);
    }

    public void read(long bytes) {
        bytesRead.increment(bytes);
    }

    public void written(long bytes) {
        bytesWritten.increment(bytes);
    }

    public void corruption() {
        corruptionDetected.increment();
    }

    public void fenced() {
        fencedRequests.increment();
    }
}
