package dev.sprig.api.database;

import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.util.ArrayDeque;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import org.jspecify.annotations.Nullable;
import org.springframework.transaction.TransactionSystemException;

/**
 * Tells a lost connection to PostgreSQL (the server restarted, failed over or dropped the
 * connection) from a statement the server refused. Only the former can be cured by a fresh
 * connection. The driver reports it with SQLState class 08 (connection exception) or 57P01–57P03
 * (the server is shutting down or starting up), however deep Spring's translation wraps it.
 */
public final class ConnectionLoss {

    private static final Set<String> SHUTDOWN_STATES = Set.of(
            "57P01", // admin_shutdown: a fast or smart shutdown ended the session
            "57P02", // crash_shutdown: another backend crashed and the server restarts
            "57P03"); // cannot_connect_now: the server is starting up or shutting down

    private ConnectionLoss() {}

    /** The failure, or one of its causes, is a lost connection or no connection at all. */
    public static boolean causedBy(Throwable failure) {
        return find(failure, ConnectionLoss::isLoss) != null;
    }

    /**
     * The pool could not hand out any connection within its timeout: it has waited already, so
     * another attempt now would only wait again.
     */
    static boolean noConnectionInTime(Throwable failure) {
        return find(failure, cause -> cause instanceof SQLTransientConnectionException) != null;
    }

    /**
     * The server itself answered with an error (a constraint, a serialization failure): the
     * statement, or the commit, was refused and nothing was applied. A failure with no answer from
     * the server (a connection the pool had closed already, say, whose {@code SQLException} carries
     * no SQLState) is not one.
     */
    static boolean answeredByServer(Throwable failure) {
        return find(failure, cause -> cause instanceof SQLException sql && sql.getSQLState() != null && !isLoss(sql))
                != null;
    }

    private static boolean isLoss(Throwable cause) {
        if (cause instanceof SQLTransientConnectionException) {
            return true;
        }
        if (!(cause instanceof SQLException sql) || sql.getSQLState() == null) {
            return false;
        }
        String state = sql.getSQLState();
        return state.startsWith("08") || SHUTDOWN_STATES.contains(state);
    }

    /** The failure or the first of its causes (including one a failed rollback hid) that passes {@code test}. */
    static @Nullable Throwable find(Throwable failure, Predicate<Throwable> test) {
        Map<Throwable, Boolean> seen = new IdentityHashMap<>();
        ArrayDeque<Throwable> pending = new ArrayDeque<>();
        pending.add(failure);
        while (!pending.isEmpty()) {
            Throwable next = pending.poll();
            if (seen.put(next, Boolean.TRUE) != null) {
                continue;
            }
            if (test.test(next)) {
                return next;
            }
            if (next.getCause() != null) {
                pending.add(next.getCause());
            }
            // a rollback that failed after the callback did hides the callback's failure here
            if (next instanceof TransactionSystemException system && system.getApplicationException() != null) {
                pending.add(system.getApplicationException());
            }
        }
        return null;
    }
}
