package dev.sprig.api.node;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

@Repository
class NodeRepository {

    private static final String COLUMNS = "node_id, http_endpoint, nbd_host, nbd_port, token, capacity_bytes,"
            + " used_bytes, draining, registered_at, last_heartbeat_at,"
            + " (EXTRACT(EPOCH FROM clock_timestamp() - last_heartbeat_at) * 1000)::BIGINT AS silent_ms";

    private final JdbcClient jdbc;

    NodeRepository(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    /** Inserts or refreshes a node; true when it was new. The heartbeat is the database's clock. */
    boolean upsert(String nodeId, Registration registration) {
        return jdbc.sql("""
                        INSERT INTO node (node_id, http_endpoint, nbd_host, nbd_port, token, capacity_bytes, used_bytes)
                        VALUES (:id, :http, :nbdHost, :nbdPort, :token, :capacity, :used)
                        ON CONFLICT (node_id) DO UPDATE SET http_endpoint = EXCLUDED.http_endpoint,
                            nbd_host = EXCLUDED.nbd_host, nbd_port = EXCLUDED.nbd_port, token = EXCLUDED.token,
                            capacity_bytes = EXCLUDED.capacity_bytes, used_bytes = EXCLUDED.used_bytes,
                            last_heartbeat_at = now()
                        RETURNING (xmax = 0) AS inserted""")
                .param("id", nodeId)
                .param("http", registration.httpEndpoint())
                .param("nbdHost", registration.nbdHost())
                .param("nbdPort", registration.nbdPort())
                .param("token", registration.token())
                .param("capacity", registration.capacityBytes())
                .param("used", registration.usedBytes())
                .query(Boolean.class)
                .single();
    }

    Optional<Node> find(String nodeId) {
        return jdbc.sql("SELECT " + COLUMNS + " FROM node WHERE node_id = :id")
                .param("id", nodeId)
                .query(NodeRepository::map)
                .optional();
    }

    List<Node> all() {
        return jdbc.sql("SELECT " + COLUMNS + " FROM node ORDER BY node_id")
                .query(NodeRepository::map)
                .list();
    }

    boolean setDraining(String nodeId, boolean draining) {
        return jdbc.sql("UPDATE node SET draining = :draining WHERE node_id = :id")
                        .param("id", nodeId)
                        .param("draining", draining)
                        .update()
                == 1;
    }

    private static Node map(ResultSet rs, int row) throws SQLException {
        return new Node(
                rs.getString("node_id"),
                rs.getString("http_endpoint"),
                rs.getString("nbd_host"),
                rs.getInt("nbd_port"),
                rs.getString("token"),
                rs.getLong("capacity_bytes"),
                rs.getLong("used_bytes"),
                rs.getBoolean("draining"),
                rs.getTimestamp("registered_at").toInstant(),
                rs.getTimestamp("last_heartbeat_at").toInstant(),
                java.time.Duration.ofMillis(Math.max(0, rs.getLong("silent_ms"))));
    }

    /** Keeps {@code digest} as the credential of {@code nodeId}, replacing any earlier one. */
    void storeCredential(String nodeId, byte[] digest) {
        jdbc.sql("""
                        INSERT INTO node_credential (node_id, digest) VALUES (:id, :digest)
                        ON CONFLICT (node_id) DO UPDATE SET digest = EXCLUDED.digest, issued_at = now()""").param("id", nodeId).param("digest", digest).update();
    }

    /** False when {@code nodeId} had no credential. */
    /** Removes the node and its credential; false when there was none. */
    boolean delete(String nodeId) {
        deleteCredential(nodeId);
        return jdbc.sql("DELETE FROM node WHERE node_id = :id")
                        .param("id", nodeId)
                        .update()
                == 1;
    }

    boolean deleteCredential(String nodeId) {
        return jdbc.sql("DELETE FROM node_credential WHERE node_id = :id")
                        .param("id", nodeId)
                        .update()
                > 0;
    }

    /**
     * Whether {@code nodeId} has a credential, which this transaction then holds against a removal
     * (a share lock on its row) until it ends.
     */
    boolean lockCredential(String nodeId) {
        return jdbc.sql("SELECT 1 FROM node_credential WHERE node_id = :id FOR SHARE")
                .param("id", nodeId)
                .query(Integer.class)
                .optional()
                .isPresent();
    }

    Optional<byte[]> credentialDigest(String nodeId) {
        return jdbc.sql("SELECT digest FROM node_credential WHERE node_id = :id")
                .param("id", nodeId)
                .query(byte[].class)
                .optional();
    }
}
