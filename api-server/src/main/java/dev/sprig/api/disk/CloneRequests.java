package dev.sprig.api.disk;

import dev.sprig.api.lineage.Labels;
import java.util.Optional;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** The clone_request table: the parameters of bulk clones that wait for an import, by operation. */
@Repository
class CloneRequests {

    private final JdbcClient jdbc;

    CloneRequests(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    void insert(String operationId, CloneRequest request) {
        jdbc.sql("INSERT INTO clone_request (operation_id, name_prefix, count, size_bytes, labels)"
                        + " VALUES (:op, :prefix, :count, :size, CAST(:labels AS jsonb))")
                .param("labels", request.labels().json())
                .param("op", operationId)
                .param("prefix", request.namePrefix())
                .param("count", request.count())
                .param("size", request.sizeBytes())
                .update();
    }

    Optional<CloneRequest> find(String operationId) {
        return jdbc.sql(
                        "SELECT name_prefix, count, size_bytes, labels::text FROM clone_request WHERE operation_id = :op")
                .param("op", operationId)
                .query((rs, row) -> new CloneRequest(
                        rs.getString(1),
                        rs.getInt(2),
                        rs.getObject(3) == null ? null : rs.getLong(3),
                        Labels.parse(rs.getString(4))))
                .optional();
    }
}
