package dev.sprig.api.idempotency;

import java.util.Optional;
import org.jspecify.annotations.Nullable;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** The idempotency_key table. */
@Repository
class IdempotencyRecords {

    /** What the table says about a key: the request it was first used for and, once done, the answer. */
    record Claim(String requestHash, @Nullable StoredResponse response) {}

    private final JdbcClient jdbc;

    IdempotencyRecords(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    /** Claims the key for this request; false when it was already claimed (by this or another request). */
    boolean claim(String principal, String key, String method, String path, String requestHash) {
        return jdbc.sql("INSERT INTO idempotency_key (principal, key, method, path, request_hash)"
                                + " VALUES (:principal, :key, :method, :path, :hash) ON CONFLICT DO NOTHING")
                        .param("principal", principal)
                        .param("key", key)
                        .param("method", method)
                        .param("path", path)
                        .param("hash", requestHash)
                        .update()
                == 1;
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

    void complete(String principal, String key, StoredResponse response) {
        jdbc.sql("UPDATE idempotency_key SET status = :status, content_type = :type, location = :location,"
                        + " body = :body WHERE principal = :principal AND key = :key")
                .param("status", response.status())
                .param("type", response.contentType())
                .param("location", response.location())
                .param("body", response.body())
                .param("principal", principal)
                .param("key", key)
                .update();
    }

    /** Frees the key so that a retry runs the request again (after a server error). */
    void release(String principal, String key) {
        jdbc.sql("DELETE FROM idempotency_key WHERE principal = :principal AND key = :key")
                .param("principal", principal)
                .param("key", key)
                .update();
    }
}
