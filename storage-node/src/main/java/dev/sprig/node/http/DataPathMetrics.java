package dev.sprig.node.http;

import dev.sprig.node.engine.ChunkEngine;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.function.Supplier;

/**
 * Bytes, operations and latency of the data path, exported at {@code /actuator/prometheus} as
 * {@code sprig_node_bytes_total{direction}}, {@code sprig_node_io_seconds{op}} (a histogram; its
 * count is the number of operations), {@code sprig_node_redirects_total}, {@code
 * sprig_node_flushes_total} and {@code sprig_node_corruption_detected_total}.
 */
final class DataPathMetrics {

    private final Counter bytesRead;
    private final Counter bytesWritten;
    private final Counter corruptionDetected;
    private final MeterRegistry registry;

    DataPathMetrics(MeterRegistry registry, ChunkEngine engine) {
        this.registry = registry;
        FunctionCounter.builder(
                        "sprig.node.redirects", engine, e -> e.counters().redirects())
                .description("first writes that copied a segment into the writing lc")
                .register(registry);
        FunctionCounter.builder("sprig.node.flushes", engine, e -> e.counters().flushes())
                .description("completed flushes")
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
    }

    <T> T time(String op, Supplier<T> io) {
        return timer(op).record(io);
    }

    void time(String op, Runnable io) {
        timer(op).record(io);
    }

    void read(long bytes) {
        bytesRead.increment(bytes);
    }

    void written(long bytes) {
        bytesWritten.increment(bytes);
    }

    void corruption() {
        corruptionDetected.increment();
    }

    private Timer timer(String op) {
        return Timer.builder("sprig.node.io")
                .tag("op", op)
                .publishPercentileHistogram()
                .register(registry);
    }
}
