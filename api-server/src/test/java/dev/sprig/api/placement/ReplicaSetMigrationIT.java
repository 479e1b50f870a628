package dev.sprig.api.placement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import dev.sprig.api.TestPostgres;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * V11 turns each family's stripe into replica sets of one, and the database guards the sets' rules
 * whatever code writes to them.
 */
class ReplicaSetMigrationIT {

    TestPostgres.Server server;
    String schema;
    HikariDataSource data;
    JdbcTemplate jdbc;

    @BeforeEach
    void schemaAtV10() {
        server = TestPostgres.server();
        schema = server.freshSchema("replica_migration");
        data = server.dataSource(schema, 2);
        migrate("10");
        jdbc = new JdbcTemplate(data);
        for (String node : List.of("node1", "node2", "node3")) {
            jdbc.update(
                    "INSERT INTO node (node_id, http_endpoint, nbd_host, nbd_port, token, capacity_bytes, used_bytes)"
                            + " VALUES (?, 'http://127.0.0.1:1', '127.0.0.1', 10809, 'token-0123456789abcdef', 1, 0)",
                    node);
        }
    }

    @AfterEach
    void drop() {
        data.close();
        server.dropSchema(schema);
    }

    private void migrate(String target) {
        Flyway.configure()
                .dataSource(data)
                .schemas(schema)
                .locations("filesystem:../db/migrations")
                .target(target)
                .load()
                .migrate();
    }

    @Test
    void eachColumnOfAStripeBecomesASetOfOneInSyncAtEpochOne() {
        jdbc.update("INSERT INTO family_placement (family_id, node_ids) VALUES (7, ARRAY['node2', 'node3', 'node1'])");
        jdbc.update("INSERT INTO family_placement (family_id, node_ids) VALUES (9, ARRAY['node1'])");

        migrate("latest");

        List<Map<String, Object>> members = jdbc.queryForList("""
                SELECT m.family_id, m.column_no, m.node_id, m.position, m.state, s.epoch
                FROM replica_member m JOIN replica_set s USING (family_id, column_no)
                ORDER BY m.family_id, m.column_no""");
        assertThat(members)
                .extracting(row -> row.get("family_id") + "/" + row.get("column_no") + "=" + row.get("node_id") + "@"
                        + row.get("position") + " " + row.get("state") + " e" + row.get("epoch"))
                .containsExactly(
                        "7/0=node2@0 in_sync e1",
                        "7/1=node3@0 in_sync e1",
                        "7/2=node1@0 in_sync e1",
                        "9/0=node1@0 in_sync e1");
        assertThat(jdbc.queryForObject("SELECT to_regclass('family_placement') IS NULL", Boolean.class))
                .isTrue();
    }

    @Test
    void anEpochNeverGoesDownAndAMemberIsOnceInItsSet() {
        migrate("latest");
        jdbc.update("INSERT INTO replica_set (family_id, column_no, epoch) VALUES (5, 0, 3)");
        jdbc.update("INSERT INTO replica_member (family_id, column_no, node_id, position, state)"
                + " VALUES (5, 0, 'node1', 0, 'in_sync')");

        assertThatThrownBy(() -> jdbc.update("UPDATE replica_set SET epoch = 2 WHERE family_id = 5"))
                .isInstanceOf(DataIntegrityViolationException.class)
                .hasMessageContaining("cannot go down");
        assertThat(jdbc.update("UPDATE replica_set SET epoch = 4 WHERE family_id = 5"))
                .isEqualTo(1);
        assertThatThrownBy(() -> jdbc.update("INSERT INTO replica_member (family_id, column_no, node_id, position,"
                        + " state) VALUES (5, 0, 'node2', 0, 'in_sync')"))
                .as("one member per position")
                .isInstanceOf(DataIntegrityViolationException.class);
        assertThatThrownBy(() -> jdbc.update("INSERT INTO replica_member (family_id, column_no, node_id, position,"
                        + " state) VALUES (5, 0, 'node2', 1, 'rebuilt')"))
                .isInstanceOf(DataIntegrityViolationException.class);
        assertThatThrownBy(() -> jdbc.update("INSERT INTO replica_member (family_id, column_no, node_id, position,"
                        + " state) VALUES (5, 1, 'node2', 0, 'in_sync')"))
                .as("a member of a set that does not exist")
                .isInstanceOf(DataIntegrityViolationException.class);
        assertThatThrownBy(() -> jdbc.update("INSERT INTO replica_set (family_id, column_no, epoch) VALUES (6, 0, 0)"))
                .isInstanceOf(DataIntegrityViolationException.class);

        jdbc.update("DELETE FROM replica_set WHERE family_id = 5");
        assertThat(jdbc.queryForObject("SELECT count(*) FROM replica_member", Integer.class))
                .as("members go with their set")
                .isZero();
    }

    @Test
    void aFamilysSetsGoWithItsLastLcAndNoSooner() {
        migrate("latest");
        lc(7, null, 7, true);
        lc(8, 7L, 7, false);
        lc(9, null, 9, true);
        set(7, 0, "node1");
        set(7, 1, "node2");
        set(9, 0, "node3");

        jdbc.update("DELETE FROM lc WHERE lc_id = 8");
        assertThat(setsOf(7)).as("the image is left").isEqualTo(2);

        jdbc.update("DELETE FROM lc WHERE lc_id = 7");
        assertThat(setsOf(7)).as("its last lc gone").isZero();
        assertThat(jdbc.queryForObject("SELECT count(*) FROM replica_member WHERE family_id = 7", Integer.class))
                .isZero();
        assertThat(setsOf(9)).as("another family's").isEqualTo(1);
    }

    @Test
    void theLastTwoLcsDeletedAtOnceTakeTheSetsWithThem() throws Exception {
        migrate("latest");
        lc(7, null, 7, true);
        lc(8, null, 7, false); // a flattened clone: no parent, still of family 7
        set(7, 0, "node1");

        try (Connection first = data.getConnection()) {
            first.setAutoCommit(false);
            first.createStatement().executeUpdate("DELETE FROM lc WHERE lc_id = 7");
            // the second deletes the other lc while the first has not committed: it sees lc 7 still
            CompletableFuture<Void> second =
                    CompletableFuture.runAsync(() -> jdbc.update("DELETE FROM lc WHERE lc_id = 8"));
            Thread.sleep(300);
            assertThat(second).as("waits for the first one's lock on the sets").isNotDone();
            first.commit();
            second.get(10, TimeUnit.SECONDS);
        }

        assertThat(setsOf(7)).isZero();
    }

    private void lc(long lcId, Long parent, long family, boolean frozen) {
        jdbc.update(
                "INSERT INTO lc (lc_id, parent_lc_id, family_id, size_bytes, frozen) VALUES (?, ?, ?, 4194304, ?)",
                lcId,
                parent,
                family,
                frozen);
    }

    private void set(long family, int column, String node) {
        jdbc.update("INSERT INTO replica_set (family_id, column_no) VALUES (?, ?)", family, column);
        jdbc.update(
                "INSERT INTO replica_member (family_id, column_no, node_id, position, state) VALUES (?, ?, ?, 0, 'in_sync')",
                family,
                column,
                node);
    }

    private int setsOf(long family) {
        return jdbc.queryForObject("SELECT count(*) FROM replica_set WHERE family_id = ?", Integer.class, family);
    }
}
