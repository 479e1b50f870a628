package dev.sprig.api.database;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;
import dev.sprig.api.SprigApiProperties;
import dev.sprig.api.error.SprigException;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.dao.DataAccessException;
import org.springframework.stereotype.Component;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.TransactionException;
import org.springframework.transaction.TransactionStatus;
import org.springframework.transaction.support.TransactionCallback;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Transactions that survive a restart of PostgreSQL. When the connection is lost before the commit
 * (the server restarted, so nothing was committed), the pool's connections, which all died with the
 * server, are evicted and the transaction runs once more on a fresh one. When it is lost during the
 * commit, whether the change was applied is unknown and it is not run again: the caller gets
 * {@link SprigException.DatabaseUnavailable} (503 with Retry-After) saying so, as it does when the
 * second attempt fails too or no connection can be had at all.
 *
 * <p>A transaction PostgreSQL aborted to break a deadlock, or for a serialization conflict, applied
 * nothing either, and runs again after a short random pause, up to {@value #CONTENDED_ATTEMPTS}
 * times in all. Deletions, clones and the reconciler lock lcs and resources in orders that can
 * cross (a deletion locks the disk, then the parent lc and the resource that owns it); PostgreSQL
 * picks one of the two as the victim after a second, and that victim's client deserves its answer
 * rather than a 500.
 *
 * <p>Only for callbacks that may run twice: their only effects outside the database are idempotent
 * or left to the reconciler (lcs defined on the backend by a transaction that did not commit), and
 * they keep no state in memory. A call inside a transaction that is already running joins it, and
 * the outer transaction decides.
 */
@Component
public class Transactions {

    static final int CONTENDED_ATTEMPTS = 4;
    private static final Logger log = LoggerFactory.getLogger(Transactions.class);

    private final TransactionTemplate template;
    private final DataSource dataSource;
    private final Duration retryAfter;

    @Autowired
    Transactions(PlatformTransactionManager transactions, DataSource dataSource, SprigApiProperties properties) {
        this(transactions, dataSource, properties.database().retryAfter());
    }

    Transactions(PlatformTransactionManager transactions, DataSource dataSource, Duration retryAfter) {
        this.template = new TransactionTemplate(transactions);
        this.dataSource = dataSource;
        this.retryAfter = retryAfter;
    }

    public <T> @Nullable T execute(TransactionCallback<T> action) {
        if (TransactionSynchronizationManager.isActualTransactionActive()) {
            return template.execute(action);
        }
        for (int attempt = 1; ; attempt++) {
            try {
                return survivingLoss(action);
            } catch (Contended contended) {
                if (attempt == CONTENDED_ATTEMPTS) {
                    throw (RuntimeException) contended.getCause();
                }
                log.warn(
                        "PostgreSQL aborted a transaction ({}); running it again (attempt {} of {})",
                        contended.getCause().getMessage(),
                        attempt + 1,
                        CONTENDED_ATTEMPTS);
                pauseBeforeRetry(attempt);
            }
        }
    }

    private <T> @Nullable T survivingLoss(TransactionCallback<T> action) {
        try {
            return attempt(action);
        } catch (LostBeforeCommit lost) {
            log.warn(
                    "The database connection was lost before commit ({}); running the transaction again on a"
                            + " fresh connection",
                    lost.getCause().getMessage());
            evictPool();
            try {
                return attempt(action);
            } catch (LostBeforeCommit again) {
                throw SprigException.databaseUnavailable(retryAfter, false, again.getCause());
            }
        }
    }

    public void executeWithoutResult(Consumer<TransactionStatus> action) {
        execute(status -> {
            action.accept(status);
            return null;
        });
    }

    private <T> @Nullable T attempt(TransactionCallback<T> action) {
        boolean[] committing = {false};
        try {
            return template.execute(status -> {
                T result = action.doInTransaction(status);
                committing[0] = true;
                return result;
            });
        } catch (RuntimeException failure) {
            if (failure instanceof SprigException) {
                throw failure;
            }
            if (committing[0] && commitUnanswered(failure)) {
                log.warn("The database connection was lost while committing; the outcome is unknown", failure);
                evictPool();
                throw SprigException.databaseUnavailable(retryAfter, null, failure);
            }
            if (!committing[0] && Contention.causedBy(failure)) {
                throw new Contended(failure);
            }
            if (committing[0] || !ConnectionLoss.causedBy(failure)) {
                throw failure;
            }
            if (ConnectionLoss.noConnectionInTime(failure)) {
                throw SprigException.databaseUnavailable(retryAfter, false, failure);
            }
            throw new LostBeforeCommit(failure);
        }
    }

    /**
     * A commit the server did not answer. Spring rolls back after a failed commit and, when that
     * fails too (it does on a lost connection: the pool has closed it), throws the rollback's failure
     * instead, which tells only that no server answered; the commit's own failure is just logged. So
     * whatever the database layer threw counts, unless the server refused the commit outright.
     */
    private static boolean commitUnanswered(RuntimeException failure) {
        return (failure instanceof DataAccessException || failure instanceof TransactionException)
                && !ConnectionLoss.answeredByServer(failure);
    }

    /**
     * A lost connection seldom dies alone: after a restart every pooled connection is dead, and one
     * used within the last half second is handed out without a check. Evicting them all makes the
     * retry (and every request after it) open a fresh one.
     */
    private void evictPool() {
        try {
            if (dataSource.isWrapperFor(HikariDataSource.class)) {
                HikariPoolMXBean pool =
                        dataSource.unwrap(HikariDataSource.class).getHikariPoolMXBean();
                if (pool != null) {
                    pool.softEvictConnections();
                }
            }
        } catch (SQLException notAPool) {
            log.debug("Cannot evict the pool's connections", notAPool);
        }
    }

    /** Random, so that the two transactions of a deadlock do not meet again in step. */
    private static void pauseBeforeRetry(int attempt) {
        try {
            Thread.sleep(ThreadLocalRandom.current().nextLong(5, 25L * attempt));
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted before running a transaction again", interrupted);
        }
    }

    /** Aborted by the server to break a deadlock or a serialization conflict; nothing was applied. */
    private static final class Contended extends RuntimeException {
        Contended(RuntimeException cause) {
            super(cause);
        }
    }

    /** Nothing was committed; the transaction may run again. */
    private static final class LostBeforeCommit extends RuntimeException {
        LostBeforeCommit(RuntimeException cause) {
            super(cause);
        }
    }
}
