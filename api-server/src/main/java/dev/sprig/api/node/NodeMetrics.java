package dev.sprig.api.node;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.Locale;
import org.springframework.stereotype.Component;

/**
 * {@code sprig_nodes{state}}: the registered storage nodes in each state ({@code up},
 * {@code unreachable}, {@code down}, {@code draining}) as this api-server sees them, from their
 * heartbeats' age ({@code sprig.api.nodes.unreachable-after}, {@code down-after}) and the operator's
 * drain. Every state has its series from start-up on, at 0 with no nodes (the embedded backend), so
 * that an alert on {@code down} has something to compare. Read from the registry's snapshot, at most
 * a second old: a scrape costs no query of its own.
 */
@Component
class NodeMetrics implements MeterBinder {

    private final NodeRegistry nodes;

    NodeMetrics(NodeRegistry nodes) {
        this.nodes = nodes;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        for (Node.State state : Node.State.values()) {
            Gauge.builder(
                            "sprig.nodes",
                            nodes,
                            registered -> registered.countsByState().get(state))
                    .description("registered storage nodes in this state, by their heartbeats' age and drains")
                    .tag("state", state.name().toLowerCase(Locale.ROOT))
                    .register(registry);
        }
    }
}
