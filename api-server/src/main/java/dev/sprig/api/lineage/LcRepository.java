package dev.sprig.api.lineage;

import java.util.List;
import java.util.Optional;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** The lc table. Ids come from a sequence so that api-server instances sharing the database never collide. */
@Repository
public class LcRepository {

    private final JdbcClient jdbc;
    private final JdbcTemplate template;

    LcRepository(JdbcClient jdbc, JdbcTemplate template) {
        this.jdbc = jdbc;
        this.template = template;
    }

    public long nextId() {
        return jdbc.sql("SELECT nextval('lc_id_seq')").query(Long.class).single();
    }

    /**
     * {@code count} writable children of the frozen {@code parent}, each of {@code sizeBytes}, with
     * fresh ids: the clones of one source, in one round trip.
     */
    public List<Lc> insertChildren(Lc parent, long sizeBytes, int count) {
        return jdbc.sql("""
                        INSERT INTO lc (lc_id, parent_lc_id, family_id, size_bytes, frozen)
                        SELECT nextval('lc_id_seq'), :parent, :family, :size, FALSE FROM generate_series(1, :count)
                        RETURNING lc_id, parent_lc_id, family_id, size_bytes, frozen""")
                .param("parent", parent.lcId())
                .param("family", parent.familyId())
                .param("size", sizeBytes)
                .param("count", count)
                .query(LcRepository::map)
                .list();
    }

    /** Inserts in list order (parents first), in one batch. */
    public void insertAll(List<Lc> lcs) {
        template.batchUpdate(
                "INSERT INTO lc (lc_id, parent_lc_id, family_id, size_bytes, frozen) VALUES (?, ?, ?, ?, ?)",
                lcs,
                1000,
                (statement, lc) -> {
                    statement.setLong(1, lc.lcId());
                    statement.setObject(2, lc.parentLcId());
                    statement.setLong(3, lc.familyId());
                    statement.setLong(4, lc.sizeBytes());
                    statement.setBoolean(5, lc.frozen());
                });
    }

    /** Every lc, parents before children (a child is always inserted after its parent, so has a larger id). */
    public List<Lc> all() {
        return jdbc.sql("SELECT lc_id, parent_lc_id, family_id, size_bytes, frozen FROM lc ORDER BY lc_id")
                .query(LcRepository::map)
                .list();
    }

    /** The largest lc id this database has handed out (committed or not); 0 before the first. */
    public long lastIdAllocated() {
        return jdbc.sql("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM lc_id_seq")
                .query(Long.class)
                .single();
    }

    /** Takes a transaction-scoped advisory lock if no other session holds it. */
    /**
     * Takes the transaction-scoped advisory lock {@code (lock, schema)} if it is free: keyed by the
     * schema, so that installations sharing a database (as the CI's test contexts do) each have their own.
     */
    public boolean tryAdvisoryLock(int lock) {
        return Boolean.TRUE.equals(jdbc.sql("SELECT pg_try_advisory_xact_lock(:lock, hashtext(current_schema()))")
                .param("lock", lock)
                .query(Boolean.class)
                .single());
    }

    public void freeze(long lcId) {
        jdbc.sql("UPDATE lc SET frozen = TRUE WHERE lc_id = :lc")
                .param("lc", lcId)
                .update();
    }

    /** A writable lc's new size, after a resize grew it. */
    public void setSize(long lcId, long sizeBytes) {
        jdbc.sql("UPDATE lc SET size_bytes = :size WHERE lc_id = :lc AND NOT frozen")
                .param("lc", lcId)
                .param("size", sizeBytes)
                .update();
    }

    /**
     * Cuts an lc loose from its parent once it holds every segment it read from it (a flatten). It
     * stays in its family: its PCs stay where they are.
     */
    public void detach(long lcId) {
        jdbc.sql("UPDATE lc SET parent_lc_id = NULL WHERE lc_id = :lc")
                .param("lc", lcId)
                .update();
    }

    public void delete(long lcId) {
        jdbc.sql("DELETE FROM lc WHERE lc_id = :lc").param("lc", lcId).update();
    }

    /**
     * {@code lcId} and every lc below it, deepest first (an order in which they can be deleted),
     * for removing a subtree that no resource uses any more.
     */
    public List<Long> subtreeDeepestFirst(long lcId) {
        return jdbc.sql("""
                        WITH RECURSIVE below(lc_id, depth) AS (
                            SELECT lc_id, 0 FROM lc WHERE lc_id = :lc
                            UNION ALL
                            SELECT lc.lc_id, below.depth + 1 FROM lc JOIN below ON lc.parent_lc_id = below.lc_id)
                        SELECT lc_id FROM below ORDER BY depth DESC, lc_id""").param("lc", lcId).query(Long.class).list();
    }

    /** The lc, locked until the end of the transaction, so that decisions about its children are serialized. */
    public Optional<Lc> lock(long lcId) {
        return jdbc.sql(
                        "SELECT lc_id, parent_lc_id, family_id, size_bytes, frozen FROM lc WHERE lc_id = :lc FOR UPDATE")
                .param("lc", lcId)
                .query(LcRepository::map)
                .optional();
    }

    /**
     * Whether the lc is a copy of an image that is not being deleted: it has no resource of its own
     * (a copy made past the clone limit) but stays for the image's clones to come.
     */
    public boolean isCopyOfLiveImage(long lcId) {
        return jdbc.sql("SELECT EXISTS (SELECT 1 FROM image_copy c JOIN resource r ON r.extern_id = c.extern_id"
                        + " WHERE c.lc_id = :lc AND r.state <> 'deleting')")
                .param("lc", lcId)
                .query(Boolean.class)
                .single();
    }

    /**
     * Before an image's copies go with it: the cache's total of hits keeps what they served. Takes
     * the counter row's lock, after the image's (the order every transaction keeps).
     */
    public void keepHitsOfCopies(String imageId) {
        jdbc.sql("UPDATE cache_stats SET hits = hits"
                        + " + (SELECT coalesce(sum(hits), 0) FROM image_copy WHERE extern_id = :image)")
                .param("image", imageId)
                .update();
    }

    /** The lcs of an image's copies (the image cache's, ready or being filled). */
    public List<Long> imageCopies(String imageId) {
        return jdbc.sql("SELECT lc_id FROM image_copy WHERE extern_id = :image ORDER BY lc_id")
                .param("image", imageId)
                .query(Long.class)
                .list();
    }

    /** Whether {@code ancestor} is {@code lcId} or on the chain from it up to its root. */
    public boolean isAncestor(long ancestor, long lcId) {
        return Boolean.TRUE.equals(jdbc.sql("""
                        WITH RECURSIVE up(lc_id, parent_lc_id) AS (
                            SELECT lc_id, parent_lc_id FROM lc WHERE lc_id = :lc
                            UNION ALL
                            SELECT lc.lc_id, lc.parent_lc_id FROM lc JOIN up ON lc.lc_id = up.parent_lc_id)
                        SELECT EXISTS (SELECT 1 FROM up WHERE lc_id = :ancestor)""")
                .param("lc", lcId)
                .param("ancestor", ancestor)
                .query(Boolean.class)
                .single());
    }

    /**
     * Where the database's transactions stand: the id of the oldest one still running (every one
     * with a smaller id has ended), and an id given now to the caller's own transaction, which is
     * larger than that of every transaction that wrote anything before this call.
     */
    public record TransactionHorizon(long oldestRunning, long givenNow) {}

    /** Gives the caller's transaction an id, if it has none yet (a snapshot's xmax may be a running one's). */
    public TransactionHorizon transactionHorizon() {
        return jdbc.sql("SELECT txid_snapshot_xmin(txid_current_snapshot()) AS oldest, txid_current() AS mine")
                .query((rs, row) -> new TransactionHorizon(rs.getLong("oldest"), rs.getLong("mine")))
                .single();
    }

    public long countChildren(long lcId) {
        return jdbc.sql("SELECT count(*) FROM lc WHERE parent_lc_id = :lc")
                .param("lc", lcId)
                .query(Long.class)
                .single();
    }

    /** The image whose cached copy {@code lcId} is, if it is one. */
    public Optional<String> copyOf(long lcId) {
        return jdbc.sql("SELECT extern_id FROM image_copy WHERE lc_id = :lc")
                .param("lc", lcId)
                .query(String.class)
                .optional();
    }

    public boolean hasChildren(long lcId) {
        return jdbc.sql("SELECT EXISTS (SELECT 1 FROM lc WHERE parent_lc_id = :lc)")
                .param("lc", lcId)
                .query(Boolean.class)
                .single();
    }

    public Optional<Lc> find(long lcId) {
        return jdbc.sql("SELECT lc_id, parent_lc_id, family_id, size_bytes, frozen FROM lc WHERE lc_id = :lc")
                .param("lc", lcId)
                .query(LcRepository::map)
                .optional();
    }

    private static Lc map(java.sql.ResultSet rs, int row) throws java.sql.SQLException {
        return new Lc(
                rs.getLong("lc_id"),
                rs.getObject("parent_lc_id", Long.class),
                rs.getLong("family_id"),
                rs.getLong("size_bytes"),
                rs.getBoolean("frozen"));
    }
}
