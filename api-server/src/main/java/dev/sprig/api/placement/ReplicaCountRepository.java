package dev.sprig.api.placement;

import dev.sprig.api.node.ReplicaMembership.Counts;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/**
 * Counts over {@code replica_member} for views and metrics. A degraded set is one with a member that
 * is not in sync (stale, or rebuilding: decision 012); those are few (each is a dropped copy, or one
 * being rebuilt), and the partial index {@code replica_member_not_in_sync_idx} finds them without
 * reading the in-sync ones.
 */
@Repository
class ReplicaCountRepository {

    private static final String DEGRADED =
            "SELECT DISTINCT family_id, column_no FROM replica_member WHERE state <> 'in_sync'";

    private final JdbcClient jdbc;

    ReplicaCountRepository(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    Map<String, Counts> byNode() {
        Map<String, Counts> counts = new HashMap<>();
        jdbc.sql("WITH degraded AS (" + DEGRADED + ")"
                        + " SELECT m.node_id, count(*) AS sets, count(d.family_id) AS degraded,"
                        + " count(*) FILTER (WHERE m.state = 'rebuilding') AS rebuilding"
                        + " FROM replica_member m LEFT JOIN degraded d USING (family_id, column_no)"
                        + " GROUP BY m.node_id")
                .query(rs -> {
                    counts.put(rs.getString("node_id"), counts(rs));
                });
        return counts;
    }

    Counts of(String nodeId) {
        return jdbc.sql("WITH degraded AS (" + DEGRADED + ")"
                        + " SELECT count(*) AS sets, count(d.family_id) AS degraded,"
                        + " count(*) FILTER (WHERE m.state = 'rebuilding') AS rebuilding"
                        + " FROM replica_member m LEFT JOIN degraded d USING (family_id, column_no)"
                        + " WHERE m.node_id = :node")
                .param("node", nodeId)
                .query((rs, row) -> counts(rs))
                .single();
    }

    private static Counts counts(ResultSet rs) throws SQLException {
        return new Counts(rs.getLong("sets"), rs.getLong("degraded"), rs.getLong("rebuilding"));
    }

    /** Sets with at least one member that is not in sync. */
    long degradedSets() {
        return jdbc.sql("SELECT count(*) FROM (" + DEGRADED + ") AS degraded")
                .query(Long.class)
                .single();
    }

    /** Sets with a member being rebuilt (through the same partial index: rebuilding is not in sync). */
    long rebuildingSets() {
        return jdbc.sql("SELECT count(*) FROM (SELECT DISTINCT family_id, column_no FROM replica_member"
                        + " WHERE state = 'rebuilding') AS rebuilding")
                .query(Long.class)
                .single();
    }
}
