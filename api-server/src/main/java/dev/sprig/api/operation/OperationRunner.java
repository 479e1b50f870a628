package dev.sprig.api.operation;

import dev.sprig.api.error.SprigException;
import java.time.Duration;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
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
 * Runs operations on a few background threads and ends each one succeeded or failed.
 *
 * <p>The row comes first: a feature inserts the running operation in its own transaction and hands
 * it here only after that commits, so that a crash at any point leaves either no operation or a
 * running one, and running ones are resumed when api-server starts again ({@link #resumeRunning}).
 * Work stopped by a shutdown is left running for the same reason, rather than marked failed.
 *
 * <p>Resuming takes every running operation, which is right while one api-server owns its storage
 * (the embedded backend). Instances sharing a database and remote nodes will resume under the
 * leader's advisory lock instead.
 */
@Component
public class OperationRunner implements DisposableBean {

    /** Disk-bound work: two at a time keep the disks' own I/O responsive on a small machine. */
    static final int WORKERS = 2;
    /** How often progress reaches the database at most (clients poll about this often). */
    static final Duration PROGRESS_EVERY = Duration.ofMillis(500);

    private static final Logger log = LoggerFactory.getLogger(OperationRunner.class);

    // looked up when first needed: the features that provide the work also start operations here
    private final ObjectProvider<OperationWork> workProvider;
    private volatile @Nullable Map<Operation.Kind, OperationWork> works;
    private final OperationRepository operations;
    private final TransactionTemplate tx;
    private final ExecutorService workers;
    private final Set<String> inHand = ConcurrentHashMap.newKeySet();
    private volatile boolean closing;

    OperationRunner(ObjectProvider<OperationWork> works, OperationRepository operations, TransactionTemplate tx) {
        this.workProvider = works;
        this.operations = operations;
        this.tx = tx;
        var threads = new AtomicInteger();
        this.workers = Executors.newFixedThreadPool(WORKERS, work -> {
            var thread = new Thread(work, "operation-" + threads.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        });
    }

    /**
     * Runs a running operation, whose row has committed, in the background; one this runner already
     * has in hand (a resume racing a fresh start) is not run twice.
     */
    public void submit(Operation operation) {
        if (inHand.add(operation.id())) {
            workers.execute(() -> {
                try {
                    run(operation);
                } finally {
                    inHand.remove(operation.id());
                }
            });
        }
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

    /** Picks up the operations a crash or a shutdown left running; their work is idempotent. */
    @EventListener(ApplicationReadyEvent.class)
    public void resumeRunning() {
        works();
        List<Operation> running = operations.running();
        if (!running.isEmpty()) {
            log.info(
                    "Resuming {} operation(s) left running: {}",
                    running.size(),
                    running.stream().map(Operation::id).toList());
        }
        running.forEach(this::submit);
    }

    private void run(Operation operation) {
        OperationWork work = Objects.requireNonNull(works().get(operation.kind()));
        Runnable afterCommit;
        try {
            work.perform(
                    operation,
                    new ThrottledProgress(
                            PROGRESS_EVERY,
                            System::nanoTime,
                            (done, total) -> operations.progress(operation.id(), done, total)));
            afterCommit = Objects.requireNonNull(tx.execute(status -> {
                Runnable then = work.succeed(operation);
                operations.succeed(operation.id());
                return then;
            }));
        } catch (RuntimeException failure) {
            fail(work, operation, failure);
            return;
        }
        try {
            afterCommit.run();
        } catch (RuntimeException failure) {
            // The operation's result stands; what is left over is storage nothing refers to.
            log.warn("Operation {} succeeded; cleaning up after it failed", operation.id(), failure);
        }
    }

    private void fail(OperationWork work, Operation operation, RuntimeException failure) {
        if (closing) {
            log.info("Operation {} stopped with api-server; it resumes at the next start", operation.id());
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
        try {
            tx.executeWithoutResult(status -> {
                work.fail(operation, error);
                operations.fail(operation.id(), error, failure instanceof SprigException sprig ? sprig.code() : null);
            });
        } catch (RuntimeException unrecorded) {
            log.error(
                    "Operation {} failed and could not be marked failed; it resumes at the next start",
                    operation.id(),
                    unrecorded);
        }
    }

    @Override
    public void destroy() {
        closing = true;
        workers.shutdownNow();
    }
}
