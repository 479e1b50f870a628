package dev.sprig.api.node;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.stereotype.Component;

/**
 * The registered storage nodes' states as this api-server sees them (heartbeat age against {@code
 * sprig.api.nodes.unreachable-after} and {@code down-after}, and the operator's drain):
 *
 * <ul>
 *   <li>{@code sprig_nodes{state}}: how many are {@code up}, {@code unreachable}, {@code down} and
 *       {@code draining}; every state has its series from start-up on, at 0 with no nodes (the
 *       embedded backend), so that dashboards show 0 rather than nothing;
 *   <li>{@code sprig_nodes_state{node, state}}: 1 for each node's state and 0 for its other states,
 *       so that an alert can name the node that is down.
 * </ul>
 *
 * <p>Read from the registry's snapshot (at most a second old) every {@link #REFRESH}: every
 * instance sees every node, including those whose heartbeats go to another instance, and a scrape
 * costs no query of its own. A node removed from the registry loses its series.
 */
@Component
class NodeMetrics implements MeterBinder, DisposableBean {

    static final Duration REFRESH = Duration.ofSeconds(5);

    private static final Logger log = LoggerFactory.getLogger(NodeMetrics.class);

    private final NodeRegistry nodes;
    private final ScheduledExecutorService refresher = Executors.newSingleThreadScheduledExecutor(work -> {
        Thread thread = new Thread(work, "node-metrics");
        thread.setDaemon(true);
        return thread;
    });
    private volatile Map<String, Node.State> states = Map.of();
    /** One per registry bound to (one, in practice); one refresher serves them all. */
    private final List<MultiGauge> perNode = new CopyOnWriteArrayList<>();

    private final AtomicBoolean refreshing = new AtomicBoolean();

    NodeMetrics(NodeRegistry nodes) {
        this.nodes = nodes;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        for (Node.State state : Node.State.values()) {
            Gauge.builder("sprig.nodes", this, metrics -> metrics.count(state))
                    .description("registered storage nodes in this state, by their heartbeats' age and drains")
                    .tag("state", tag(state))
                    .register(registry);
        }
        perNode.add(MultiGauge.builder("sprig.nodes.state")
                .description("1 for the state a registered storage node is in, 0 for the others")
                .register(registry));
        if (refreshing.compareAndSet(false, true)) {
            refresher.scheduleWithFixedDelay(this::refreshQuietly, 0, REFRESH.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private long count(Node.State state) {
        return states.values().stream().filter(state::equals).count();
    }

    private void refreshQuietly() {
        try {
            refresh();
        } catch (RuntimeException e) {
            // the database may be gone for a moment: the figures stay as they were until it is back
            log.debug("Reading the nodes' states for the metrics failed: {}", e.getMessage());
        }
    }

    private void refresh() {
        Map<String, Node.State> now = nodes.statesById();
        List<MultiGauge.Row<?>> rows = new ArrayList<>();
        for (String node : now.keySet()) {
            for (Node.State state : Node.State.values()) {
                rows.add(MultiGauge.Row.of(
                        Tags.of("node", node, "state", tag(state)),
                        this,
                        metrics -> metrics.states.get(node) == state ? 1 : 0));
            }
        }
        // existing rows keep their meters (their values are read from states); rows of removed nodes
        // are dropped
        perNode.forEach(gauge -> gauge.register(rows, false));
        // after the rows: once the counts show a node, its own series exist
        states = now;
    }

    private static String tag(Node.State state) {
        return state.name().toLowerCase(Locale.ROOT);
    }

    @Override
    public void destroy() {
        refresher.shutdownNow();
    }
}
