package dev.sprig.api.database;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import org.junit.jupiter.api.Test;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.transaction.CannotCreateTransactionException;
import org.springframework.transaction.TransactionSystemException;

/** Which failures a fresh connection can cure, as PostgreSQL's driver and Spring report them. */
class ConnectionLossTest {

    @Test
    void aSessionEndedByAServerShutdownIsALoss() {
        var shutdown = new SQLException("FATAL: terminating connection due to administrator command", "57P01");

        assertThat(ConnectionLoss.causedBy(new DataAccessResourceFailureException("query", shutdown)))
                .isTrue();
    }

    @Test
    void aBrokenOrRefusedConnectionIsALoss() {
        var io = new SQLException("An I/O error occurred while sending to the backend.", "08006");
        var refused = new SQLException("Connection to 127.0.0.1:5432 refused.", "08001");

        assertThat(ConnectionLoss.causedBy(new CannotCreateTransactionException("begin", io)))
                .isTrue();
        assertThat(ConnectionLoss.causedBy(new CannotCreateTransactionException("begin", refused)))
                .isTrue();
    }

    @Test
    void aLossHiddenBehindAFailedRollbackIsFound() {
        var rollback = new TransactionSystemException("JDBC rollback failed");
        rollback.initApplicationException(new DataAccessResourceFailureException(
                "insert", new SQLException("This connection has been closed.", "08003")));

        assertThat(ConnectionLoss.causedBy(rollback)).isTrue();
    }

    @Test
    void aPoolThatHadNoConnectionInTimeIsALossNotWorthAnImmediateRetry() {
        var timeout = new CannotCreateTransactionException(
                "begin", new SQLTransientConnectionException("HikariPool-1 - Connection is not available"));

        assertThat(ConnectionLoss.causedBy(timeout)).isTrue();
        assertThat(ConnectionLoss.noConnectionInTime(timeout)).isTrue();
    }

    @Test
    void aStatementTheServerRefusedIsNotALoss() {
        var taken = new DuplicateKeyException("insert", new SQLException("duplicate key value", "23505"));
        var broken = new IllegalStateException("no SQL here");

        assertThat(ConnectionLoss.causedBy(taken)).isFalse();
        assertThat(ConnectionLoss.causedBy(broken)).isFalse();
    }

    @Test
    void aRollbackOnAConnectionThePoolClosedIsNoAnswerFromTheServer() {
        // what Spring throws when a commit lost its connection and the rollback after it failed too
        var rollback = new TransactionSystemException("JDBC rollback failed", new SQLException("Connection is closed"));
        var refused = new DataAccessResourceFailureException(
                "JDBC commit", new SQLException("could not serialize access", "40001"));

        assertThat(ConnectionLoss.answeredByServer(rollback)).isFalse();
        assertThat(ConnectionLoss.answeredByServer(refused)).isTrue();
    }
}
