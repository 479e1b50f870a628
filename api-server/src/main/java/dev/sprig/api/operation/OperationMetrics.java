package dev.sprig.api.operation;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import org.springframework.stereotype.Component;

/**
 * {@code sprig_operations_ended_total{kind, outcome}}: the operations this api-server ended, by kind
 * ({@code import}, {@code clone}, {@code flatten}, …) and outcome ({@code succeeded}, {@code failed},
 * {@code cancelled}), counted once their ending has committed. Operations run on the leader and a
 * client may cancel one on any instance, so a fleet's figures are the sum over its instances. Every
 * pair is registered at start-up, at 0, so that a rate of failed imports is 0 rather than nothing.
 */
@Component
class OperationMetrics {

    /** How an operation ended. */
    enum Outcome {
        SUCCEEDED,
        FAILED,
        CANCELLED
    }

    private final Map<Operation.Kind, Map<Outcome, Counter>> ended = new EnumMap<>(Operation.Kind.class);

    OperationMetrics(MeterRegistry registry) {
        for (Operation.Kind kind : Operation.Kind.values()) {
            Map<Outcome, Counter> byOutcome = new EnumMap<>(Outcome.class);
            for (Outcome outcome : Outcome.values()) {
                byOutcome.put(
                        outcome,
                        Counter.builder("sprig.operations.ended")
                                .description("operations ended here, by kind and outcome")
                                .tag("kind", kind.column())
                                .tag("outcome", outcome.name().toLowerCase(Locale.ROOT))
                                .register(registry));
            }
            ended.put(kind, byOutcome);
        }
    }

    void ended(Operation.Kind kind, Outcome outcome) {
        ended.get(kind).get(outcome).increment();
    }
}
