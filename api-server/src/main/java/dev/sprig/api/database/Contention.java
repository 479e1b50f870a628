package dev.sprig.api.database;

import java.sql.SQLException;
import java.util.Set;

/**
 * Tells a transaction PostgreSQL aborted because of other transactions (it was picked to break a
 * deadlock, or it lost a serialization conflict) from one it refused for what it did. The former
 * applied nothing and usually goes through when run again; the SQLState says which, however deep
 * Spring's translation wraps it.
 */
final class Contention {

    private static final Set<String> STATES = Set.of(
            "40001", // serialization_failure
            "40P01"); // deadlock_detected

    private Contention() {}

    static boolean causedBy(Throwable failure) {
        return ConnectionLoss.find(
                        failure,
                        cause -> cause instanceof SQLException sql
                                && sql.getSQLState() != null
                                && STATES.contains(sql.getSQLState()))
                != null;
    }
}
