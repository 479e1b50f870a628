package dev.sprig.api.recovery;

import dev.sprig.api.SprigApiProperties;
import dev.sprig.api.backend.ReplicaCopies;
import dev.sprig.api.database.Transactions;
import dev.sprig.api.error.SprigException;
import dev.sprig.api.leader.Leadership;
import dev.sprig.api.operation.Operation;
import dev.sprig.api.operation.OperationRepository;
import dev.sprig.api.operation.OperationRunner;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Service;

/**
 * Starts replica scrubs ({@link ReplicaScrubWork}): when an operator asks, and on the leader every
 * {@code sprig.api.scrub.interval} after the last one started (counted from the database, so a
 * restart or a new leader keeps the rhythm). One runs at a time: asking while one runs answers it.
 */
@Service
public class ReplicaScrubs {

    /** The target of every scrub operation: one running at a time, by the operations' own index. */
    static final String TARGET = "replica-sets";

    private static final Logger log = LoggerFactory.getLogger(ReplicaScrubs.class);

    private final OperationRepository operations;
    private final OperationRunner runner;
    private final Transactions tx;
    private final Leadership leadership;
    private final ObjectProvider<ReplicaCopies> copies;
    private final Duration interval;
    private final Clock clock;
    private final Instant started;

    ReplicaScrubs(
            OperationRepository operations,
            OperationRunner runner,
            Transactions tx,
            Leadership leadership,
            ObjectProvider<ReplicaCopies> copies,
            SprigApiProperties properties) {
        this.operations = operations;
        this.runner = runner;
        this.tx = tx;
        this.leadership = leadership;
        this.copies = copies;
        this.interval = properties.scrub().interval();
        this.clock = Clock.systemUTC();
        this.started = clock.instant();
    }

    /**
     * A scrub of every replica set: a new one, or the one running.
     *
     * @throws SprigException.InvalidState the backend keeps one copy of each PC (embedded): nothing to compare
     */
    public Operation start() {
        if (copies.getIfAvailable() == null) {
            throw SprigException.invalidState("this api-server's backend keeps one copy of each PC (embedded), so there"
                    + " are no replicas to compare; its node scrub is POST /v1/node:scrub with the node token");
        }
        Optional<Operation> running = operations.runningOn(TARGET);
        if (running.isPresent()) {
            return running.get();
        }
        Operation operation = java.util.Objects.requireNonNull(tx.execute(status -> {
            Optional<Operation> again = operations.runningOn(TARGET);
            return again.orElseGet(() -> operations.start(Operation.Kind.SCRUB, TARGET, 0));
        }));
        runner.submit(operation);
        log.info("Scrub {}: started", operation.id());
        return operation;
    }

    /** On the leader: a scrub when the last one started {@code interval} ago (or this instance did, if none has). */
    @Scheduled(initialDelayString = "PT1M", fixedDelayString = "PT1M")
    void periodic() {
        if (interval.isZero() || copies.getIfAvailable() == null || !leadership.leads()) {
            return;
        }
        try {
            List<Operation> last = operations.recent(Operation.Kind.SCRUB, null, 1);
            Instant since = last.isEmpty() ? started : last.get(0).createdAt();
            if (!clock.instant().isBefore(since.plus(interval))) {
                start();
            }
        } catch (RuntimeException e) {
            log.warn("Starting the periodic replica scrub failed: {}", e.getMessage());
        }
    }
}
