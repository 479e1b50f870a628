package dev.sprig.api.operation;

import dev.sprig.api.SprigApiProperties;
import dev.sprig.api.error.SprigException;
import dev.sprig.api.leader.Leadership;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Runs operations on the leader's background threads and ends each one succeeded or failed.
 *
 * <p>The row comes first: a feature inserts the running operation in its own transaction and hands
 * it here only after that commits, so that a crash at any point leaves either no operation or a
 * running one, and running ones are taken up by the leader. Work stopped by a shutdown is left
 * running for the same reason, rather than marked failed.
 *
 * <p>Only the leader ({@link Leadership}) runs operations. On any other instance {@link #submit} does
 * nothing: the committed row is the queue, and the leader picks it up. The leader takes up every
 * running operation it does not already have in hand when it becomes leader (which, for a lone
 * instance, is at start-up: operations a crash or a shutdown left running resume) and then every
 * {@link #POLL_EVERY}, which is how work queued on other instances reaches it.
 *
 * <p>An instance that loses leadership lets the work it has in hand finish or fail: stopping it
 * half-way would gain nothing, since the new leader starts every running operation over anyway,
 * and finishing may well win the race. The new leader cannot know that the old one is still
 * running an operation, so for a short while both may run it. {@link OperationWork#perform} is
 * idempotent and a finished operation never changes again, but the two runs may step on each
 * other's intermediate state (an import discarding the lc the other is writing), in which case the
 * operation fails and has to be started again. Losing leadership while alive takes a failed
 * database connection; a leader that dies takes its work with it.
 *
 * <p>Each kind of operation has its own threads, so that operations of one kind waiting for another
 * kind (a batch clone waiting for its image's import) can never starve it.
 *
 * <p>A client may cancel a running operation ({@link #cancel}): it is failed at once with the error
 * code {@link Operation#CANCELLED}, and its work stops at its next progress report, which throws
 * {@link OperationCancelledException}. Ending an operation (succeeded, failed, cancelled) locks its
 * row first, so that it is ended once and a cancelled operation's work never commits its result.
 *
 * <p>Each run counts as an attempt ({@link OperationRepository#claim}); a run stopped by an orderly
 * shutdown gives its attempt back. An operation taken up more than {@code maxAttempts} times (its
 * runs died with the process each time: killed for memory, say) is failed instead of being run
 * again at every start-up.
 */
@Component
public class OperationRunner implements DisposableBean {

    /** Disk-bound work: two at a time per kind keep the disks' own I/O responsive on a small machine. */
    static final int WORKERS = 2;
    /** How often progress reaches the database at most (clients poll about this often). */
    static final Duration PROGRESS_EVERY = Duration.ofMillis(500);
    /** How often the leader looks for running operations it does not have in hand (one indexed query). */
    static final Duration POLL_EVERY = Duration.ofMillis(500);

    private static final Logger log = LoggerFactory.getLogger(OperationRunner.class);

    // looked up when first needed: the features that provide the work also start operations here
    private final ObjectProvider<OperationWork> workProvider;
    private volatile @Nullable Map<Operation.Kind, OperationWork> works;
    private final Map<Operation.Kind, ExecutorService> workers = new EnumMap<>(Operation.Kind.class);
    private final OperationRepository operations;
    private final TransactionTemplate tx;
    private final Leadership leadership;
    private final OperationMetrics metrics;
    private final ScheduledExecutorService poller = Executors.newSingleThreadScheduledExecutor(work -> {
        Thread thread = new Thread(work, "operation-poll");
        thread.setDaemon(true);
        return thread;
    });
    private final Set<String> inHand = ConcurrentHashMap.newKeySet();
    /** Operations in hand here that a client cancelled: their next progress report stops them. */
    private final Set<String> cancelled = ConcurrentHashMap.newKeySet();

    private final int maxAttempts;
    private volatile boolean started;
    private volatile boolean closing;

    OperationRunner(
            ObjectProvider<OperationWork> works,
            OperationRepository operations,
            TransactionTemplate tx,
            Leadership leadership,
            OperationMetrics metrics,
            SprigApiProperties properties) {
        this.maxAttempts = properties.operations().maxAttempts();
        this.workProvider = works;
        for (Operation.Kind kind : Operation.Kind.values()) {
            var threads = new AtomicInteger();
            String prefix = "operation-" + kind.column() + "-";
            workers.put(kind, Executors.newFixedThreadPool(WORKERS, work -> {
                var thread = new Thread(work, prefix + threads.incrementAndGet());
                thread.setDaemon(true);
                return thread;
            }));
        }
        this.operations = operations;
        this.tx = tx;
        this.leadership = leadership;
        this.metrics = metrics;
        leadership.onGained(() -> {
            if (started && !closing) {
                poller.execute(this::pollQuietly);
            }
        });
    }

    /**
     * Runs a running operation, whose row has committed, in the background if this instance leads;
     * otherwise leaves it to the leader. One this runner already has in hand (a poll racing a fresh
     * start) is not run twice.
     */
    public void submit(Operation operation) {
        if (!leadership.leads()) {
            log.debug("Operation {} is queued for the leader", operation.id());
            return;
        }
        if (inHand.add(operation.id())) {
            try {
                workers.get(operation.kind()).execute(() -> {
                    try {
                        claim(operation).ifPresent(this::run);
                    } finally {
                        inHand.remove(operation.id());
                        cancelled.remove(operation.id());
                    }
                });
            } catch (RejectedExecutionException shuttingDown) {
                inHand.remove(operation.id());
            }
        }
    }

    /**
     * The operation as its row is now, with this run counted, if it is still running (a poll may have
     * read it just before an earlier run of it ended) and has attempts left; one that has none is
     * failed here.
     */
    private Optional<Operation> claim(Operation operation) {
        Optional<Operation> claimed = operations.claim(operation.id());
        if (claimed.isPresent() && claimed.get().attempts() > maxAttempts) {
            Operation exhausted = claimed.get();
            String error = "gave up after " + maxAttempts + " attempts: each run of this "
                    + exhausted.kind().column() + " ended with api-server (stopped or crashed) before it finished";
            log.warn("Operation {} ({} of {}): {}", exhausted.id(), exhausted.kind(), exhausted.targetId(), error);
            end(works().get(exhausted.kind()), exhausted, error, Operation.ATTEMPTS_EXHAUSTED);
            return Optional.empty();
        }
        return claimed;
    }

    /**
     * Cancels a running operation: fails it with {@link Operation#CANCELLED}, puts back what starting
     * it set aside (a flattening disk is available again), and stops its work at its next progress
     * report, wherever it runs. The operation is never taken up again.
     *
     * @return the operation, cancelled
     * @throws SprigException.NotFound no such operation
     * @throws SprigException.InvalidState it has already finished
     */
    public Operation cancel(String id) {
        Operation.Kind kind = Objects.requireNonNull(tx.execute(status -> {
            Operation running = operations.lockRunning(id).orElseThrow(() -> {
                Operation found = operations.find(id).orElseThrow(() -> SprigException.notFound("operation " + id));
                return SprigException.invalidState("operation " + id + " has already "
                        + found.state().column() + "; only a running operation can be cancelled");
            });
            String error = "cancelled by a client";
            Objects.requireNonNull(works().get(running.kind())).fail(running, error);
            operations.fail(id, error, Operation.CANCELLED);
            return running.kind();
        }));
        metrics.ended(kind, OperationMetrics.Outcome.CANCELLED);
        if (inHand.contains(id)) {
            cancelled.add(id);
        }
        log.info("Operation {} was cancelled", id);
        return operations.find(id).orElseThrow(() -> SprigException.notFound("operation " + id));
    }

    private Map<Operation.Kind, OperationWork> works() {
        Map<Operation.Kind, OperationWork> found = works;
        if (found == null) {
            found = new EnumMap<>(Operation.Kind.class);
            for (OperationWork work : workProvider) {
                found.put(work.kind(), work);
            }
            for (Operation.Kind kind : Operation.Kind.values()) {
                if (!found.containsKey(kind)) {
                    throw new IllegalStateException("no OperationWork for operations of kind " + kind);
                }
            }
            works = found;
        }
        return found;
    }

    /** From start-up on, the leader takes up running operations every {@link #POLL_EVERY}. */
    @EventListener(ApplicationReadyEvent.class)
    public void startPolling() {
        works();
        started = true;
        poller.scheduleWithFixedDelay(this::pollQuietly, 0, POLL_EVERY.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void pollQuietly() {
        try {
            resumeRunning();
        } catch (RuntimeException e) {
            log.warn("Looking for running operations failed: {}", e.getMessage());
        }
    }

    /**
     * On the leader, runs every running operation not already in hand: those a crash, a shutdown or
     * a lost leader left running, and those other instances queued. Their work is idempotent.
     */
    public void resumeRunning() {
        if (!leadership.leads()) {
            return;
        }
        List<Operation> waiting = operations.running().stream()
                .filter(operation -> !inHand.contains(operation.id()))
                .toList();
        if (!waiting.isEmpty()) {
            log.info(
                    "Taking up {} running operation(s): {}",
                    waiting.size(),
                    waiting.stream().map(Operation::id).toList());
        }
        waiting.forEach(this::submit);
    }

    private void run(Operation operation) {
        OperationWork work = Objects.requireNonNull(works().get(operation.kind()));
        Runnable afterCommit;
        try {
            var throttled = new ThrottledProgress(PROGRESS_EVERY, System::nanoTime, (done, total) -> {
                if (!operations.progress(operation.id(), done, total)) {
                    throw new OperationCancelledException(operation.id());
                }
            });
            work.perform(operation, new OperationProgress() {
                @Override
                public void report(long done, long total) {
                    checkpoint();
                    throttled.report(done, total);
                }

                @Override
                public void checkpoint() {
                    if (cancelled.contains(operation.id())) {
                        throw new OperationCancelledException(operation.id());
                    }
                }
            });
            afterCommit = Objects.requireNonNull(tx.execute(status -> {
                if (operations.lockRunning(operation.id()).isEmpty()) {
                    // cancelled after its last progress report: its result must not commit
                    throw new OperationCancelledException(operation.id());
                }
                Runnable then = work.succeed(operation);
                operations.succeed(operation.id());
                return then;
            }));
        } catch (RuntimeException failure) {
            fail(work, operation, failure);
            return;
        } catch (Error failure) {
            // out of memory, say: marked failed all the same, or the leader's poll would run it again
            // and again
            fail(work, operation, new IllegalStateException(failure.toString(), failure));
            return;
        }
        metrics.ended(operation.kind(), OperationMetrics.Outcome.SUCCEEDED);
        try {
            afterCommit.run();
        } catch (RuntimeException failure) {
            // The operation's result stands; what is left over is storage nothing refers to.
            log.warn("Operation {} succeeded; cleaning up after it failed", operation.id(), failure);
        }
    }

    private void fail(OperationWork work, Operation operation, RuntimeException failure) {
        if (closing) {
            log.info("Operation {} stopped with api-server; the leader resumes it", operation.id());
            try {
                operations.unclaim(operation.id());
            } catch (RuntimeException unrecorded) {
                log.debug("Operation {} keeps this attempt counted", operation.id(), unrecorded);
            }
            return;
        }
        if (failure instanceof OperationCancelledException || cancelled.contains(operation.id())) {
            log.info(
                    "Operation {} ({} of {}) stopped: it was cancelled",
                    operation.id(),
                    operation.kind(),
                    operation.targetId());
            return;
        }
        String error = failure.getMessage() == null || failure.getMessage().isBlank()
                ? failure.getClass().getSimpleName()
                : failure.getMessage();
        log.warn(
                "Operation {} ({} of {}) failed: {}",
                operation.id(),
                operation.kind(),
                operation.targetId(),
                error,
                failure);
        end(work, operation, error, failure instanceof SprigException sprig ? sprig.code() : null);
    }

    /** Fails the operation, if it is still running (a client may have cancelled it meanwhile). */
    private void end(OperationWork work, Operation operation, String error, @Nullable String code) {
        try {
            boolean failed = Boolean.TRUE.equals(tx.execute(status -> {
                if (operations.lockRunning(operation.id()).isEmpty()) {
                    return false;
                }
                work.fail(operation, error);
                operations.fail(operation.id(), error, code);
                return true;
            }));
            if (failed) {
                metrics.ended(operation.kind(), OperationMetrics.Outcome.FAILED);
            }
        } catch (RuntimeException unrecorded) {
            log.error(
                    "Operation {} failed and could not be marked failed; the leader resumes it",
                    operation.id(),
                    unrecorded);
        }
    }

    @Override
    public void destroy() {
        closing = true;
        poller.shutdownNow();
        workers.values().forEach(ExecutorService::shutdownNow);
    }
}
