package dev.sprig.api.idempotency;

import dev.sprig.api.database.Transactions;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/**
 * The idempotency_key table. Each statement is a transaction of its own, run again on a fresh
 * connection when the first was lost before it committed ({@link Transactions}).
 */
@Repository
class IdempotencyRecords {

    /** What the table says about a key: the request it was first used for and, once done, the answer. */
    record Claim(String requestHash, @Nullable StoredResponse response) {}

    private final JdbcClient jdbc;
    private final Transactions tx;

    IdempotencyRecords(JdbcClient jdbc, Transactions tx) {
        this.jdbc = jdbc;
        this.tx = tx;
    }

    /**
     * Claims the key for this request; false when it is already claimed (by this or another request).
     * A claim left unanswered for longer than {@code abandonedAfter} belonged to an api-server that
     * died serving it, so it is taken over.
     *
     * @return when it was claimed, which names this claim: a request whose claim was taken over
     *     must not answer for the one that took it
     */
    Optional<Instant> claim(
            String principal, String key, String method, String path, String requestHash, Duration abandonedAfter) {
        return Objects.requireNonNull(tx.execute(status -> jdbc.sql("""
                                INSERT INTO idempotency_key (principal, key, method, path, request_hash)
                                VALUES (:principal, :key, :method, :path, :hash)
                                ON CONFLICT (principal, key) DO UPDATE SET method = EXCLUDED.method,
                                    path = EXCLUDED.path, request_hash = EXCLUDED.request_hash, created_at = now()
                                WHERE idempotency_key.status IS NULL
                                  AND idempotency_key.created_at < now() - make_interval(secs => :abandoned)
                                RETURNING created_at""")
                .param("abandoned", abandonedAfter.toMillis() / 1000.0)
                .param("principal", principal)
                .param("key", key)
                .param("method", method)
                .param("path", path)
                .param("hash", requestHash)
                .query((rs, row) -> rs.getTimestamp("created_at").toInstant())
                .optional()));
    }

    Optional<Claim> find(String principal, String key) {
        return jdbc.sql("SELECT request_hash, status, content_type, location, body FROM idempotency_key"
                        + " WHERE principal = :principal AND key = :key")
                .param("principal", principal)
                .param("key", key)
                .query((rs, row) -> {
                    int status = rs.getInt("status");
                    StoredResponse response = rs.wasNull()
                            ? null
                            : new StoredResponse(
                                    status,
                                    rs.getString("content_type"),
                                    rs.getString("location"),
                                    rs.getBytes("body"));
                    return new Claim(rs.getString("request_hash"), response);
                })
                .optional();
    }

    void complete(String principal, String key, Instant claimedAt, StoredResponse response) {
        tx.execute(status -> jdbc.sql(
                        "UPDATE idempotency_key SET status = :status, content_type = :type, location = :location,"
                                + " body = :body WHERE principal = :principal AND key = :key AND created_at = :claimedAt")
                .param("claimedAt", java.sql.Timestamp.from(claimedAt))
                .param("status", response.status())
                .param("type", response.contentType())
                .param("location", response.location())
                .param("body", response.body())
                .param("principal", principal)
                .param("key", key)
                .update());
    }

    /**
     * Frees every claim still waiting for its answer: at the start of an api-server that owns its
     * database (the embedded one), no other process can be serving them.
     */
    int releaseUnanswered() {
        return jdbc.sql("DELETE FROM idempotency_key WHERE status IS NULL").update();
    }

    /** Frees the key so that a retry runs the request again (after a server error). */
    void release(String principal, String key, Instant claimedAt) {
        tx.execute(status -> jdbc.sql(
                        "DELETE FROM idempotency_key WHERE principal = :principal AND key = :key AND created_at = :claimedAt")
                .param("claimedAt", java.sql.Timestamp.from(claimedAt))
                .param("principal", principal)
                .param("key", key)
                .update());
    }
}
