package dev.sprig.api.operation;

import dev.sprig.api.paging.PageCursor;
import dev.sprig.api.paging.PageTokens;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.jspecify.annotations.Nullable;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/**
 * The operation table. State changes only leave {@code running} (a finished operation never changes
 * again), and progress never goes backwards; the statements say so in their WHERE clauses.
 */
@Repository
public class OperationRepository {

    private static final String COLUMNS =
            "operation_id, kind, target_extern_id, state, done, total, error, error_code, created_at, updated_at, finished_at,"
                    + " attempts";

    private final JdbcClient jdbc;
    private final PageTokens pageTokens;

    OperationRepository(JdbcClient jdbc) {
        this.jdbc = jdbc;
        this.pageTokens = new PageTokens(
                () -> jdbc.sql("SELECT id FROM installation").query(UUID.class).single());
    }

    /**
     * A new running operation. A second running one on the same target is refused by a unique index
     * (the caller holds the target's lock, so it never gets that far).
     */
    public Operation start(Operation.Kind kind, String targetId, long total) {
        return insert(kind, targetId, "running", 0, total);
    }

    /** An operation that had nothing to do: succeeded as it is created. */
    public Operation completed(Operation.Kind kind, String targetId, long total) {
        return insert(kind, targetId, "succeeded", total, total);
    }

    private Operation insert(Operation.Kind kind, String targetId, String state, long done, long total) {
        return jdbc.sql("INSERT INTO operation (operation_id, kind, target_extern_id, state, done, total, finished_at)"
                        + " VALUES (:id, :kind, :target, :state, :done, :total,"
                        + " CASE WHEN :state = 'running' THEN NULL ELSE now() END) RETURNING " + COLUMNS)
                .param("id", Operation.newId())
                .param("kind", kind.column())
                .param("target", targetId)
                .param("state", state)
                .param("done", done)
                .param("total", total)
                .query(OperationRepository::map)
                .single();
    }

    public Optional<Operation> find(String id) {
        return jdbc.sql("SELECT " + COLUMNS + " FROM operation WHERE operation_id = :id")
                .param("id", id)
                .query(OperationRepository::map)
                .optional();
    }

    /**
     * An operation running on a resource, if any: the flatten or import (at most one), else the
     * oldest bulk clone waiting on it.
     */
    public Optional<Operation> runningOn(String targetId) {
        return jdbc.sql("SELECT " + COLUMNS + " FROM operation WHERE target_extern_id = :target AND state = 'running'"
                        + " ORDER BY kind = 'clone', created_at LIMIT 1")
                .param("target", targetId)
                .query(OperationRepository::map)
                .optional();
    }

    /** The operation of {@code kind} running on a resource, if any. */
    public Optional<Operation> runningOn(String targetId, Operation.Kind kind) {
        return jdbc.sql("SELECT " + COLUMNS + " FROM operation WHERE target_extern_id = :target AND state = 'running'"
                        + " AND kind = :kind ORDER BY created_at LIMIT 1")
                .param("target", targetId)
                .param("kind", kind.column())
                .query(OperationRepository::map)
                .optional();
    }

    /** The most recent {@code limit} operations, newest first, of the kind and in the state when given. */
    public List<Operation> recent(Operation.@Nullable Kind kind, Operation.@Nullable State state, int limit) {
        return jdbc.sql("SELECT " + COLUMNS + " FROM operation"
                        + " WHERE (CAST(:kind AS TEXT) IS NULL OR kind = :kind)"
                        + " AND (CAST(:state AS TEXT) IS NULL OR state = :state)"
                        + " ORDER BY created_at DESC, operation_id LIMIT :limit")
                .param("kind", kind == null ? null : kind.column())
                .param("state", state == null ? null : state.column())
                .param("limit", limit)
                .query(OperationRepository::map)
                .list();
    }

    /** A page of operations, newest first, and the token of the next (null on the last). */
    public record Page(List<Operation> items, @Nullable String nextPageToken) {}

    /**
     * A page of operations, newest first, of the kind, in the state and on the resource when given,
     * after the position of {@code after}.
     */
    public Page page(
            Operation.@Nullable Kind kind,
            Operation.@Nullable State state,
            @Nullable String targetId,
            @Nullable PageCursor after,
            int pageSize) {
        // only the conditions asked for, so that the plan of each query uses its index (V18 for a target)
        StringBuilder sql = new StringBuilder("SELECT " + COLUMNS + " FROM operation WHERE TRUE");
        var statement = new java.util.HashMap<String, Object>();
        if (kind != null) {
            sql.append(" AND kind = :kind");
            statement.put("kind", kind.column());
        }
        if (state != null) {
            sql.append(" AND state = :state");
            statement.put("state", state.column());
        }
        if (targetId != null) {
            sql.append(" AND target_extern_id = :target");
            statement.put("target", targetId);
        }
        if (after != null) {
            PageTokens.Position from = pageTokens.position(after);
            sql.append(" AND (created_at, operation_id) < (:afterAt, :afterId)");
            statement.put("afterAt", OffsetDateTime.ofInstant(from.createdAt(), ZoneOffset.UTC));
            statement.put("afterId", from.externId());
        }
        sql.append(" ORDER BY created_at DESC, operation_id DESC LIMIT :limit");
        statement.put("limit", pageSize + 1);
        List<Operation> rows = jdbc.sql(sql.toString())
                .params(statement)
                .query(OperationRepository::map)
                .list();
        PageTokens.Cut<Operation> page =
                pageTokens.cut(rows, pageSize, last -> new PageTokens.Position(last.createdAt(), last.id()));
        return new Page(page.items(), page.nextPageToken());
    }

    /** Every running operation, oldest first. */
    public List<Operation> running() {
        return jdbc.sql("SELECT " + COLUMNS + " FROM operation WHERE state = 'running' ORDER BY created_at")
                .query(OperationRepository::map)
                .list();
    }

    /**
     * Takes a running operation up for one more run: counts the attempt and answers the operation as
     * it now is; empty if it is no longer running.
     */
    public Optional<Operation> claim(String id) {
        return jdbc.sql("UPDATE operation SET attempts = attempts + 1, updated_at = now()"
                        + " WHERE operation_id = :id AND state = 'running' RETURNING " + COLUMNS)
                .param("id", id)
                .query(OperationRepository::map)
                .optional();
    }

    /** Takes back the attempt of a run that an orderly shutdown stopped: it was no fault of the work. */
    public void unclaim(String id) {
        jdbc.sql("UPDATE operation SET attempts = attempts - 1"
                        + " WHERE operation_id = :id AND state = 'running' AND attempts > 0")
                .param("id", id)
                .update();
    }

    /**
     * The operation, locked until the transaction ends, if it is still running: whoever ends it
     * (its run, or a client cancelling it) holds this lock, so that it is ended once.
     */
    public Optional<Operation> lockRunning(String id) {
        return jdbc.sql("SELECT " + COLUMNS + " FROM operation WHERE operation_id = :id AND state = 'running'"
                        + " FOR UPDATE")
                .param("id", id)
                .query(OperationRepository::map)
                .optional();
    }

    /**
     * Progress of a running operation; a report older than what is stored is ignored.
     *
     * @return false if the operation is no longer running (cancelled, or ended by another run)
     */
    public boolean progress(String id, long done, long total) {
        return jdbc.sql("UPDATE operation SET done = :done, total = :total, updated_at = now()"
                                        + " WHERE operation_id = :id AND state = 'running' AND done <= :done")
                                .param("id", id)
                                .param("done", done)
                                .param("total", total)
                                .update()
                        > 0
                || isRunning(id);
    }

    private boolean isRunning(String id) {
        return jdbc.sql("SELECT count(*) FROM operation WHERE operation_id = :id AND state = 'running'")
                        .param("id", id)
                        .query(Long.class)
                        .single()
                > 0;
    }

    /** Ends a running operation as succeeded, with all of its work done. */
    public void succeed(String id) {
        finish(id, "succeeded", null);
    }

    /** @param code the stable problem code of the failure, when it has one */
    public void fail(String id, String error, @Nullable String code) {
        finish(id, "failed", error, code);
    }

    private void finish(String id, String state, @Nullable String error) {
        finish(id, state, error, null);
    }

    private void finish(String id, String state, @Nullable String error, @Nullable String code) {
        jdbc.sql("UPDATE operation SET state = :state, error = :error, error_code = :code,"
                        + " done = CASE WHEN :state = 'succeeded' THEN total ELSE done END,"
                        + " updated_at = now(), finished_at = now() WHERE operation_id = :id AND state = 'running'")
                .param("id", id)
                .param("state", state)
                .param("error", error)
                .param("code", code)
                .update();
    }

    private static Operation map(ResultSet rs, int row) throws SQLException {
        return new Operation(
                rs.getString("operation_id"),
                Operation.Kind.ofColumn(rs.getString("kind")),
                rs.getString("target_extern_id"),
                Operation.State.ofColumn(rs.getString("state")),
                rs.getLong("done"),
                rs.getLong("total"),
                rs.getString("error"),
                rs.getString("error_code"),
                instant(rs, "created_at"),
                instant(rs, "updated_at"),
                rs.getObject("finished_at") == null ? null : instant(rs, "finished_at"),
                rs.getInt("attempts"));
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        return rs.getObject(column, OffsetDateTime.class).toInstant();
    }
}
