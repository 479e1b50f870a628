package dev.sprig.engine;

import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Keeps the journal short: a thread of its own checkpoints the engine once the journal reaches its
 * configured size ({@link EngineConfig#checkpointJournalBytes}) or its oldest record its configured
 * age ({@link EngineConfig#checkpointInterval}), whatever appended to it. No I/O call pays for a
 * checkpoint, except that a flush finding the journal at twice its size waits for the checkpoint to
 * end (back-pressure: a workload cannot outrun the checkpoints and grow the journal without bound).
 *
 * <p>A failed checkpoint (whatever it throws, errors included) is retried after {@link
 * #RETRY_MILLIS}; meanwhile the journal keeps growing and the engine keeps working (the journal and
 * the previous checkpoint stay valid). Should the thread end anyway, flushes stop waiting for it.
 */
final class Checkpointer implements AutoCloseable {

    static final long RETRY_MILLIS = 1_000;
    /** How often an idle checkpointer looks at the journal's age. */
    private static final long POLL_MILLIS = 1_000;

    private final long journalBytes;
    private final long intervalNanos;
    private final Supplier<Journal> journal;
    private final Runnable checkpoint;
    private final Thread thread;
    private final Object monitor = new Object();
    private boolean stopped;
    /** Checkpoints this thread has attempted and ended, for flushes waiting on one. */
    private long ended;

    private volatile @Nullable Throwable lastFailure;

    Checkpointer(EngineConfig config, Supplier<Journal> journal, Runnable checkpoint) {
        this.journalBytes = config.checkpointJournalBytes();
        // both bounded by EngineConfig: twice the bytes and the interval in nanoseconds fit a long
        this.intervalNanos = config.checkpointInterval().toNanos();
        this.journal = journal;
        this.checkpoint = checkpoint;
        this.thread = new Thread(this::run, "engine-checkpoint");
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** A journal reached its size. Never blocks for long: called right after an append. */
    void wake() {
        synchronized (monitor) {
            monitor.notifyAll();
        }
    }

    /**
     * Called by a flush, holding no engine lock: while the journal is at twice its size, waits until
     * a checkpoint has started a new one (or one failed, or the engine closes, or the thread is gone).
     */
    void awaitIfOverdue() {
        Journal full = journal.get();
        if (full.sizeBytes() < 2 * journalBytes || Thread.currentThread() == thread) {
            return;
        }
        synchronized (monitor) {
            long seen = ended;
            monitor.notifyAll();
            try {
                while (!stopped
                        && thread.isAlive()
                        && journal.get() == full
                        && (ended == seen || lastFailure == null)) {
                    monitor.wait(POLL_MILLIS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The last checkpoint's failure, or null if it succeeded (or none ran yet). */
    @Nullable
    Throwable lastFailure() {
        return lastFailure;
    }

    private boolean due() {
        Journal j = journal.get();
        return j.sizeBytes() >= journalBytes || j.ageNanos() >= intervalNanos;
    }

    private void run() {
        try {
            while (true) {
                synchronized (monitor) {
                    while (!stopped && !due()) {
                        monitor.wait(POLL_MILLIS);
                    }
                    if (stopped) {
                        return;
                    }
                }
                Throwable failure = null;
                try {
                    checkpoint.run();
                } catch (EngineClosedException e) {
                    return;
                } catch (Throwable e) {
                    // an Error too (say, out of memory for the snapshot): a dead thread would leave
                    // flushes waiting for a checkpoint that never comes
                    failure = e;
                }
                lastFailure = failure;
                synchronized (monitor) {
                    ended++;
                    monitor.notifyAll();
                    if (failure != null && !stopped) {
                        monitor.wait(RETRY_MILLIS);
                    }
                }
            }
        } catch (InterruptedException e) {
            // no one interrupts this thread; if someone does, flushes stop waiting for it (isAlive)
        }
    }

    /** Stops the thread and waits for a checkpoint it is writing to end. */
    @Override
    public void close() {
        synchronized (monitor) {
            stopped = true;
            monitor.notifyAll();
        }
        if (Thread.currentThread() == thread) {
            return;
        }
        try {
            thread.join(TimeUnit.MINUTES.toMillis(10));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
