package dev.sprig.api.recovery;

import dev.sprig.api.node.NodeRepairs;
import dev.sprig.api.placement.ReplicaSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** {@code replica_repair}: what replica scrubs repaired or could not, and the families they compare. */
@Repository
class ReplicaRepairRepository implements NodeRepairs {

    /** Repair counts by outcome ({@code repaired}, {@code unresolved}) and reason. */
    record Totals(long repairedDamaged, long repairedDiffered, long unresolved) {}

    private final JdbcClient jdbc;

    ReplicaRepairRepository(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    /** A member's copy of a segment the scrub found wrong: repaired, or left unresolved. */
    void record(String operationId, ReplicaSet set, long lcId, ReplicaComparison.Finding finding, boolean repaired) {
        jdbc.sql("""
                        INSERT INTO replica_repair
                            (operation_id, node_id, family_id, column_no, lc_id, segment, reason, outcome)
                        VALUES (:op, :node, :family, :column, :lc, :segment, :reason, :outcome)""")
                .param("op", operationId)
                .param("node", finding.nodeId())
                .param("family", set.familyId())
                .param("column", set.column())
                .param("lc", lcId)
                .param("segment", finding.segment())
                .param("reason", finding.reason().column())
                .param("outcome", repaired ? "repaired" : "unresolved")
                .update();
    }

    /** The families that have replica sets: those a scrub compares. */
    List<Long> familiesWithReplicaSets() {
        return jdbc.sql("SELECT DISTINCT family_id FROM replica_set ORDER BY family_id")
                .query(Long.class)
                .list();
    }

    Totals totals() {
        return jdbc.sql("""
                        SELECT count(*) FILTER (WHERE outcome = 'repaired' AND reason = 'damaged') AS damaged,
                               count(*) FILTER (WHERE outcome = 'repaired' AND reason = 'differed') AS differed,
                               count(*) FILTER (WHERE outcome = 'unresolved') AS unresolved
                        FROM replica_repair""")
                .query((rs, row) -> new Totals(rs.getLong("damaged"), rs.getLong("differed"), rs.getLong("unresolved")))
                .single();
    }

    @Override
    public long repairedOn(String nodeId) {
        return jdbc.sql("SELECT count(*) FROM replica_repair WHERE outcome = 'repaired' AND node_id = ?")
                .param(nodeId)
                .query(Long.class)
                .single();
    }

    @Override
    public Map<String, Long> repairedByNode() {
        Map<String, Long> counts = new HashMap<>();
        jdbc.sql("SELECT node_id, count(*) AS n FROM replica_repair WHERE outcome = 'repaired' GROUP BY node_id")
                .query((rs, row) -> Map.entry(rs.getString("node_id"), rs.getLong("n")))
                .list()
                .forEach(entry -> counts.put(entry.getKey(), entry.getValue()));
        return counts;
    }
}
