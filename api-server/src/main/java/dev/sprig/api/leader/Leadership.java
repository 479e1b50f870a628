package dev.sprig.api.leader;

import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether this api-server instance leads: it does while it holds a PostgreSQL session advisory lock,
 * {@code (LOCK, hashtext(current_schema()))}, on one connection of its own. Keying by schema lets
 * several deployments (or test contexts) share one database, each with its own leader.
 *
 * <p>Every check interval an instance that does not lead tries the lock ({@code pg_try_advisory_lock},
 * which never waits), and the leader checks that its connection still answers. PostgreSQL releases a
 * session lock when the session ends, so when a leader process dies its lock goes with its
 * connection and another instance takes it at its next try. A leader whose connection fails stops
 * leading (and says so) and tries again on a fresh connection, two intervals later, so that a
 * healthy instance takes over first.
 *
 * <p>There is a window in which two instances believe they lead: after the leader's connection is
 * cut (by the network or {@code pg_terminate_backend}) and before its next check notices, another
 * may already hold the lock. Work handed out on leadership must therefore tolerate being run twice
 * (operations are idempotent by contract). A leader whose host vanishes without closing its
 * connection keeps the lock until PostgreSQL notices the dead connection (its TCP keepalive).
 */
public final class Leadership implements AutoCloseable {

    /** The first half of the advisory lock's key ("Sprg"); the schema's hash is the second. */
    static final int LOCK = 0x53707267;

    private static final String TRY_LOCK = "SELECT pg_try_advisory_lock(" + LOCK + ", hashtext(current_schema()))";
    private static final String UNLOCK = "SELECT pg_advisory_unlock(" + LOCK + ", hashtext(current_schema()))";
    private static final Logger log = LoggerFactory.getLogger(Leadership.class);

    private final DataSource dataSource;
    private final Duration checkInterval;
    /** The longest one check may wait for the database, so that a hung connection counts as lost. */
    private final int timeoutMillis;

    private final List<Runnable> whenGained = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(work -> {
        Thread thread = new Thread(work, "leadership");
        thread.setDaemon(true);
        return thread;
    });

    /** Guarded by {@code this}: the connection that holds the lock or tries to take it. */
    private @Nullable Connection connection;

    private boolean closed;
    private boolean failureLogged;
    /** A leader that lost its connection tries again only from then on ({@link System#nanoTime()}). */
    private long retryAfter = System.nanoTime();

    private volatile boolean leads;

    public Leadership(DataSource dataSource, Duration checkInterval) {
        if (checkInterval.isNegative() || checkInterval.isZero()) {
            throw new IllegalArgumentException("sprig.leader.check-interval must be positive, not " + checkInterval);
        }
        this.dataSource = dataSource;
        this.checkInterval = checkInterval;
        this.timeoutMillis = (int) Math.max(2_000, checkInterval.toMillis());
    }

    /**
     * Makes the first attempt at once, in the caller's thread, so that a lone instance leads as soon
     * as this returns; then checks every interval in the background.
     */
    public void start() {
        check();
        ticker.scheduleWithFixedDelay(
                this::check, checkInterval.toMillis(), checkInterval.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Whether this instance holds the leader lock, as of the last check. */
    public boolean leads() {
        return leads;
    }

    /**
     * Runs {@code listener} each time this instance becomes leader, on the leadership thread (so it
     * should only hand work on). It is not run for a leadership gained before it was added.
     */
    public void onGained(Runnable listener) {
        whenGained.add(listener);
    }

    /** One tick: the leader makes sure it still leads, anyone else tries to. */
    void check() {
        if (takeOrKeep()) {
            for (Runnable listener : whenGained) {
                try {
                    listener.run();
                } catch (RuntimeException e) {
                    log.warn("A listener failed on gaining leadership", e);
                }
            }
        }
    }

    /** Returns whether this call made this instance leader. */
    private synchronized boolean takeOrKeep() {
        if (closed) {
            return false;
        }
        if (leads) {
            if (answers()) {
                return false;
            }
            leads = false;
            log.warn(
                    "Lost the leader lock: its database connection failed. Trying to take it again on a new one in {}",
                    checkInterval.multipliedBy(2));
            discard();
            // an instance whose connection was just cut is the less likely to be healthy: the others go first
            retryAfter = System.nanoTime() + 2 * checkInterval.toNanos();
        }
        if (System.nanoTime() - retryAfter < 0) {
            return false;
        }
        try {
            if (connection == null) {
                connection = open();
            }
            if (tryLock(connection)) {
                leads = true;
                failureLogged = false;
                log.info("This instance leads: it holds the leader lock of its schema");
                return true;
            }
            failureLogged = false;
        } catch (SQLException e) {
            if (!failureLogged) {
                log.warn("Could not try the leader lock (trying again every {}): {}", checkInterval, e.getMessage());
                failureLogged = true;
            }
            discard();
        }
        return false;
    }

    private Connection open() throws SQLException {
        Connection fresh = dataSource.getConnection();
        try {
            // a session lock outlives transactions, but an open transaction would be left idle forever
            fresh.setAutoCommit(true);
            fresh.setNetworkTimeout(Runnable::run, timeoutMillis);
            return fresh;
        } catch (SQLException e) {
            fresh.close();
            throw e;
        }
    }

    private static boolean tryLock(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement();
                ResultSet result = statement.executeQuery(TRY_LOCK)) {
            boolean locked = result.next() && result.getBoolean(1);
            if (result.wasNull()) {
                // hashtext(NULL): the search path names no schema that exists (yet)
                throw new SQLException("the connection has no current schema to key the leader lock by");
            }
            return locked;
        }
    }

    private boolean answers() {
        Connection held = connection;
        if (held == null) {
            return false;
        }
        try (Statement statement = held.createStatement()) {
            statement.setQueryTimeout(Math.max(1, timeoutMillis / 1000));
            statement.execute("SELECT 1");
            return true;
        } catch (SQLException e) {
            log.debug("The leader lock's connection failed", e);
            return false;
        }
    }

    /**
     * Closes the connection for good. A pooled connection is evicted rather than returned: one that
     * may still hold the lock must never serve as an ordinary connection.
     */
    private void discard() {
        Connection held = connection;
        connection = null;
        if (held == null) {
            return;
        }
        try {
            if (dataSource.isWrapperFor(HikariDataSource.class)) {
                dataSource.unwrap(HikariDataSource.class).evictConnection(held);
            } else {
                held.close();
            }
        } catch (SQLException | RuntimeException e) {
            log.debug("Closing the leader lock's connection failed", e);
        }
    }

    /** Stops checking and gives the lock up, so that another instance can lead at its next try. */
    @Override
    public void close() {
        ticker.shutdownNow();
        synchronized (this) {
            closed = true;
            Connection held = connection;
            if (leads && held != null) {
                leads = false;
                try (Statement statement = held.createStatement()) {
                    statement.execute(UNLOCK);
                    log.info("Gave up the leader lock");
                } catch (SQLException e) {
                    log.debug("Unlocking failed; closing the connection releases the lock", e);
                }
            }
            leads = false;
            discard();
        }
    }
}
