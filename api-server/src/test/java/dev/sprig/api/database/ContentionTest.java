package dev.sprig.api.database;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.SQLException;
import org.junit.jupiter.api.Test;
import org.springframework.dao.CannotAcquireLockException;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.dao.PessimisticLockingFailureException;

/** Which failures another run of the same transaction can cure, as PostgreSQL's driver and Spring report them. */
class ContentionTest {

    @Test
    void aDeadlockVictimAndASerializationFailureAreContention() {
        assertThat(Contention.causedBy(new PessimisticLockingFailureException(
                        "update", new SQLException("deadlock detected", "40P01"))))
                .isTrue();
        assertThat(Contention.causedBy(new CannotAcquireLockException(
                        "update", new SQLException("could not serialize access", "40001"))))
                .isTrue();
    }

    @Test
    void aRefusedStatementALostConnectionAndAnErrorWithoutStateAreNot() {
        assertThat(Contention.causedBy(new DuplicateKeyException("insert", new SQLException("duplicate key", "23505"))))
                .isFalse();
        assertThat(Contention.causedBy(new DataAccessResourceFailureException(
                        "insert", new SQLException("terminating connection due to administrator command", "57P01"))))
                .isFalse();
        assertThat(Contention.causedBy(new DataAccessResourceFailureException(
                        "insert", new SQLException("This connection has been closed."))))
                .isFalse();
    }
}
