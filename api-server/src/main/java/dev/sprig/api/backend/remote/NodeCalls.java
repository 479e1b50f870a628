package dev.sprig.api.backend.remote;

import dev.sprig.api.error.SprigException;
import dev.sprig.api.node.SilentNodes;
import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryRegistry;
import java.time.Duration;
import java.util.function.Supplier;

/**
 * Every call to a node goes through here: retried (all node calls are idempotent) and guarded by
 * that node's circuit breaker, so that once a node stops answering, requests that need it fail at
 * once with {@code 503 NODE_UNAVAILABLE} instead of each waiting for its timeouts. Configured under
 * {@code resilience4j.circuitbreaker.configs.storage-node} and {@code resilience4j.retry.configs.storage-node}.
 */
final class NodeCalls implements SilentNodes {

    static final String CONFIG = "storage-node";

    private final CircuitBreakerRegistry breakers;
    private final RetryRegistry retries;
    private final Duration retryAfter;

    NodeCalls(CircuitBreakerRegistry breakers, RetryRegistry retries, Duration retryAfter) {
        this.breakers = breakers;
        this.retries = retries;
        this.retryAfter = retryAfter;
    }

    <T> T call(String nodeId, Supplier<T> call) {
        CircuitBreaker breaker = breakers.circuitBreaker(name(nodeId), CONFIG);
        Retry retry = retries.retry(name(nodeId), CONFIG);
        try {
            return Retry.decorateSupplier(retry, CircuitBreaker.decorateSupplier(breaker, call))
                    .get();
        } catch (CallNotPermittedException open) {
            throw SprigException.nodeUnavailable(nodeId, retryAfter, "it stopped answering recently");
        } catch (NodeClient.Unanswered unanswered) {
            throw SprigException.nodeUnavailable(nodeId, retryAfter, unanswered.getMessage());
        }
    }

    /** Open: the node stopped answering, and calls fail at once until the breaker lets trials through. */
    @Override
    public boolean silent(String nodeId) {
        return breakers.find(name(nodeId))
                .map(breaker -> breaker.getState() == CircuitBreaker.State.OPEN
                        || breaker.getState() == CircuitBreaker.State.FORCED_OPEN)
                .orElse(false);
    }

    private static String name(String nodeId) {
        return "node-" + nodeId;
    }

    void run(String nodeId, Runnable call) {
        call(nodeId, () -> {
            call.run();
            return null;
        });
    }
}
