package dev.sprig.api.recovery;

import dev.sprig.api.lineage.Lc;
import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** {@code recovery}, and the lcs of the family a recovery copies. */
@Repository
class RecoveryRepository {

    private final JdbcClient jdbc;

    RecoveryRepository(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    void insert(String operationId, long familyId, int column, String oldNodeId, String newNodeId) {
        jdbc.sql("""
                        INSERT INTO recovery (operation_id, family_id, column_no, old_node_id, new_node_id, catch_up)
                        VALUES (:op, :family, :column, :old, :new, :catchUp)""")
                .param("op", operationId)
                .param("family", familyId)
                .param("column", column)
                .param("old", oldNodeId)
                .param("new", newNodeId)
                .param("catchUp", oldNodeId.equals(newNodeId))
                .update();
    }

    Optional<Recovery> find(String operationId) {
        return jdbc.sql("""
                        SELECT operation_id, family_id, column_no, old_node_id, new_node_id, filled_lc_ids
                        FROM recovery WHERE operation_id = :op""")
                .param("op", operationId)
                .query(RecoveryRepository::map)
                .optional();
    }

    /** Records that the lc's fill finished (once). */
    void filled(String operationId, long lcId) {
        jdbc.sql("""
                        UPDATE recovery SET filled_lc_ids = array_append(filled_lc_ids, :lc)
                        WHERE operation_id = :op AND NOT (:lc = ANY(filled_lc_ids))""").param("op", operationId).param("lc", lcId).update();
    }

    /** The family's lcs, parents before children (a child is always created after its parent). */
    List<Lc> lcsOf(long familyId) {
        return jdbc.sql("""
                        SELECT lc_id, parent_lc_id, family_id, size_bytes, frozen FROM lc
                        WHERE family_id = :family ORDER BY lc_id""")
                .param("family", familyId)
                .query((rs, row) -> new Lc(
                        rs.getLong("lc_id"),
                        rs.getObject("parent_lc_id") == null ? null : rs.getLong("parent_lc_id"),
                        rs.getLong("family_id"),
                        rs.getLong("size_bytes"),
                        rs.getBoolean("frozen")))
                .list();
    }

    boolean lcExists(long lcId) {
        return jdbc.sql("SELECT count(*) FROM lc WHERE lc_id = :lc")
                        .param("lc", lcId)
                        .query(Long.class)
                        .single()
                > 0;
    }

    private static Recovery map(ResultSet rs, int row) throws SQLException {
        Array filled = rs.getArray("filled_lc_ids");
        Long[] ids = (Long[]) filled.getArray();
        return new Recovery(
                rs.getString("operation_id"),
                rs.getLong("family_id"),
                rs.getInt("column_no"),
                rs.getString("old_node_id"),
                rs.getString("new_node_id"),
                new HashSet<>(Arrays.asList(ids)));
    }

    /** Bytes done and left over the recovery operations that are running (none: both 0). */
    RecoveryBytes runningBytes() {
        return jdbc.sql("""
                        SELECT coalesce(sum(done), 0) AS done, coalesce(sum(total - done), 0) AS left_to_do
                        FROM operation WHERE kind = 'recovery' AND state = 'running'""")
                .query((rs, row) -> new RecoveryBytes(rs.getLong("done"), rs.getLong("left_to_do")))
                .single();
    }

    record RecoveryBytes(long done, long left) {}
}
