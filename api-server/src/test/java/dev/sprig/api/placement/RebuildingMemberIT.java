package dev.sprig.api.placement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import dev.sprig.api.TestPostgres;
import dev.sprig.api.placement.ReplicaSet.Member;
import dev.sprig.api.placement.ReplicaSet.State;
import java.util.List;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * A rebuilding member's life in {@code replica_member} (decision 012): it joins at the first free
 * position, is dropped like any member, and on promotion takes the place of the member it replaces,
 * which leaves the set.
 */
class RebuildingMemberIT {

    TestPostgres.Server server;
    String schema;
    HikariDataSource data;
    ReplicaSetRepository repository;

    @BeforeEach
    void oneFamilyOnThreeOfFourNodes() {
        server = TestPostgres.server();
        schema = server.freshSchema("rebuilding_member");
        data = server.dataSource(schema, 2);
        Flyway.configure()
                .dataSource(data)
                .schemas(schema)
                .locations("filesystem:../db/migrations")
                .load()
                .migrate();
        JdbcTemplate jdbc = new JdbcTemplate(data);
        for (String node : List.of("node1", "node2", "node3", "node4")) {
            jdbc.update(
                    "INSERT INTO node (node_id, http_endpoint, nbd_host, nbd_port, token, capacity_bytes, used_bytes)"
                            + " VALUES (?, 'http://127.0.0.1:1', '127.0.0.1', 10809, 'token-0123456789abcdef', 1, 0)",
                    node);
        }
        repository = new ReplicaSetRepository(JdbcClient.create(data));
        repository.placeIfAbsent(7, List.of(List.of("node1", "node2", "node3")));
    }

    @AfterEach
    void drop() {
        data.close();
        server.dropSchema(schema);
    }

    @Test
    void aRebuildingMemberJoinsAtTheFirstFreePositionAndTakesTheReplacedMembersPlaceWhenInSync() {
        repository.markStale(7, "node2", List.of(0));
        repository.addRebuilding(7, 0, "node4");

        ReplicaSet rebuilding = repository.of(7).get(0);
        assertThat(rebuilding.members())
                .containsExactly(
                        new Member("node1", 0, State.IN_SYNC),
                        new Member("node2", 1, State.STALE),
                        new Member("node3", 2, State.IN_SYNC),
                        new Member("node4", 3, State.REBUILDING));
        assertThat(rebuilding.writerNodeIds()).containsExactly("node1", "node3", "node4");
        assertThat(rebuilding.readOrder()).doesNotContain("node4");

        assertThat(repository.replace(7, 0, "node2", "node4")).isTrue();

        ReplicaSet replaced = repository.of(7).get(0);
        assertThat(replaced.members())
                .containsExactly(
                        new Member("node1", 0, State.IN_SYNC),
                        new Member("node3", 2, State.IN_SYNC),
                        new Member("node4", 3, State.IN_SYNC));
        assertThat(replaced.epoch()).isEqualTo(rebuilding.epoch() + 1);
        assertThat(repository.replace(7, 0, "node2", "node4"))
                .as("a second promotion")
                .isFalse();
    }

    @Test
    void aDroppedRebuildingMemberIsStaleAndCannotBePromoted() {
        repository.addRebuilding(7, 0, "node4");
        long epoch = repository.of(7).get(0).epoch();

        repository.markStale(7, "node4", List.of(0));

        ReplicaSet set = repository.of(7).get(0);
        assertThat(set.members()).contains(new Member("node4", 3, State.STALE));
        assertThat(set.epoch()).isEqualTo(epoch + 1);
        assertThat(repository.replace(7, 0, "node2", "node4")).isFalse();
        assertThat(repository.of(7).get(0).members()).as("nothing changed").isEqualTo(set.members());
    }

    @Test
    void aStaleMemberThatComesBackRejoinsAsRebuildingAtItsOwnPositionAndThenIsInSync() {
        repository.markStale(7, "node2", List.of(0));

        assertThat(repository.changeState(7, 0, "node2", State.REBUILDING, State.IN_SYNC))
                .as("not rebuilding")
                .isFalse();
        assertThat(repository.changeState(7, 0, "node2", State.STALE, State.REBUILDING))
                .isTrue();
        assertThat(repository.of(7).get(0).members()).contains(new Member("node2", 1, State.REBUILDING));
        assertThat(repository.changeState(7, 0, "node2", State.STALE, State.REBUILDING))
                .as("twice")
                .isFalse();
        assertThat(repository.changeState(7, 0, "node2", State.REBUILDING, State.IN_SYNC))
                .isTrue();
        assertThat(repository.of(7).get(0).members())
                .containsExactly(
                        new Member("node1", 0, State.IN_SYNC),
                        new Member("node2", 1, State.IN_SYNC),
                        new Member("node3", 2, State.IN_SYNC));
    }

    @Test
    void aCatchUpRecoveryNamesTheSameNodeTwiceAndOnlyThen() {
        JdbcTemplate jdbc = new JdbcTemplate(data);
        List<String> ops = List.of("op-aaaaaaaaaaaaaaaa", "op-bbbbbbbbbbbbbbbb", "op-cccccccccccccccc");
        for (String op : ops) {
            jdbc.update(
                    "INSERT INTO operation (operation_id, kind, target_extern_id, state, total, finished_at)"
                            + " VALUES (?, 'recovery', 'rs-7-0', 'succeeded', 0, now())",
                    op);
        }
        String insert = "INSERT INTO recovery (operation_id, family_id, column_no, old_node_id, new_node_id, catch_up)"
                + " VALUES (?, 7, 0, 'node2', ?, ?)";
        jdbc.update(insert, ops.get(0), "node2", true);
        jdbc.update(insert, ops.get(1), "node4", false);
        assertThatThrownBy(() -> jdbc.update(insert, ops.get(2), "node2", false))
                .isInstanceOf(org.springframework.dao.DataIntegrityViolationException.class);
        assertThatThrownBy(() -> jdbc.update(insert, ops.get(2), "node4", true))
                .isInstanceOf(org.springframework.dao.DataIntegrityViolationException.class);
    }

    @Test
    void aRebuildingMemberTakesAFreedPosition() {
        repository.placeIfAbsent(9, List.of(List.of("node1", "node2")));
        new JdbcTemplate(data).update("DELETE FROM replica_member WHERE family_id = 9 AND node_id = 'node1'");

        repository.addRebuilding(9, 0, "node3");

        assertThat(repository.of(9).get(0).members())
                .containsExactly(new Member("node3", 0, State.REBUILDING), new Member("node2", 1, State.IN_SYNC));
    }
}
