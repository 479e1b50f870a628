package dev.sprig.api.database;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import dev.sprig.api.TestPostgres;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.dao.PessimisticLockingFailureException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;

/**
 * Two transactions that lock two rows in opposite orders on a real PostgreSQL: the server aborts
 * one of them to break the deadlock, and {@link Transactions} runs that one again, so both callers
 * get their answer and both changes are applied once.
 */
class TransactionContentionIT {

    TestPostgres.Server server;
    String schema;
    HikariDataSource dataSource;
    JdbcTemplate jdbc;
    Transactions transactions;

    @BeforeEach
    void twoRows() {
        server = TestPostgres.server();
        schema = server.freshSchema("contention");
        dataSource = server.dataSource(schema, 4);
        jdbc = new JdbcTemplate(dataSource);
        jdbc.execute("CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)");
        jdbc.execute("INSERT INTO counter VALUES (1, 0), (2, 0)");
        transactions =
                new Transactions(new DataSourceTransactionManager(dataSource), dataSource, Duration.ofSeconds(2));
    }

    @AfterEach
    void drop() {
        dataSource.close();
        server.dropSchema(schema);
    }

    @Test
    void theVictimOfADeadlockRunsAgainAndBothTransactionsApplyOnce() throws Exception {
        var bothHoldTheirFirstRow = new CyclicBarrier(2);
        var runs = new AtomicInteger();

        CompletableFuture<String> oneThenTwo =
                CompletableFuture.supplyAsync(() -> incrementBoth(1, 2, bothHoldTheirFirstRow, runs));
        CompletableFuture<String> twoThenOne =
                CompletableFuture.supplyAsync(() -> incrementBoth(2, 1, bothHoldTheirFirstRow, runs));

        assertThat(oneThenTwo.get(30, TimeUnit.SECONDS)).isEqualTo("done");
        assertThat(twoThenOne.get(30, TimeUnit.SECONDS)).isEqualTo("done");
        assertThat(runs).as("one of the two ran again").hasValue(3);
        assertThat(jdbc.queryForList("SELECT n FROM counter ORDER BY id", Integer.class))
                .containsExactly(2, 2);
    }

    @Test
    void aTransactionThatKeepsLosingGivesUpAfterItsAttemptsWithTheServersError() {
        var runs = new AtomicInteger();

        assertThatThrownBy(() -> transactions.execute(status -> {
                    runs.incrementAndGet();
                    throw new PessimisticLockingFailureException(
                            "update", new SQLException("deadlock detected", "40P01"));
                }))
                .isInstanceOf(PessimisticLockingFailureException.class);
        assertThat(runs).hasValue(Transactions.CONTENDED_ATTEMPTS);
    }

    @Test
    void aStatementTheServerRefusedForWhatItDidIsNotRunAgain() {
        var runs = new AtomicInteger();

        assertThatThrownBy(() -> transactions.execute(status -> {
                    runs.incrementAndGet();
                    return jdbc.update("INSERT INTO counter VALUES (1, 0)");
                }))
                .isInstanceOf(DataIntegrityViolationException.class);
        assertThat(runs).hasValue(1);
    }

    private String incrementBoth(int first, int second, CyclicBarrier barrier, AtomicInteger runs) {
        return transactions.execute(status -> {
            boolean firstRun = runs.incrementAndGet() <= 2;
            jdbc.update("UPDATE counter SET n = n + 1 WHERE id = ?", first);
            if (firstRun) {
                try {
                    barrier.await(10, TimeUnit.SECONDS);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
            jdbc.update("UPDATE counter SET n = n + 1 WHERE id = ?", second);
            return "done";
        });
    }
}
