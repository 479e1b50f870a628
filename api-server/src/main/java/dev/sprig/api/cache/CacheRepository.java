package dev.sprig.api.cache;

import dev.sprig.api.lineage.Lc;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** The image_copy and cache_stats tables. */
@Repository
public class CacheRepository {

    /** The class half of the advisory lock that serialises room-making; the other half is the schema. */
    private static final int CACHE_LOCK = 0x53434348;

    private final JdbcClient jdbc;

    CacheRepository(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    /**
     * Serialises the decisions that add to or take from the cache's contents, until the transaction
     * ends; keyed by schema, so that databases holding several installations do not share it.
     */
    void lockCache() {
        jdbc.sql("SELECT pg_advisory_xact_lock(:lock, hashtext(current_schema()))")
                .param("lock", CACHE_LOCK)
                .query((rs, row) -> 1)
                .list();
    }

    /** The current transaction commits without waiting for its WAL record to reach the disk. */
    public void commitWithoutWaitingForDurability() {
        jdbc.sql("SET LOCAL synchronous_commit TO OFF").update();
    }

    /** A copy an import is filling: it is not cloned from, but its expected bytes count as used. */
    public void insertFilling(long lcId, String imageId, long expectedBytes) {
        jdbc.sql("INSERT INTO image_copy (lc_id, extern_id, ready, stored_bytes) VALUES (:lc, :image, FALSE, :bytes)")
                .param("lc", lcId)
                .param("image", imageId)
                .param("bytes", expectedBytes)
                .update();
    }

    /** An uploaded image's copy, ready at once and never evicted (the image has no source). */
    public void insertPinned(long lcId, String imageId, long storedBytes) {
        jdbc.sql("INSERT INTO image_copy (lc_id, extern_id, ready, stored_bytes) VALUES (:lc, :image, TRUE, :bytes)")
                .param("lc", lcId)
                .param("image", imageId)
                .param("bytes", storedBytes)
                .update();
    }

    /** The copy an operation is filling for the image, if any (a unique index allows one). */
    public Optional<Long> filling(String imageId) {
        return jdbc.sql("SELECT lc_id FROM image_copy WHERE extern_id = :image AND NOT ready")
                .param("image", imageId)
                .query(Long.class)
                .optional();
    }

    /** Bytes an import is about to write into the copy it fills, counted as held from now on. */
    public void addStoredBytes(long lcId, long bytes) {
        jdbc.sql("UPDATE image_copy SET stored_bytes = stored_bytes + :bytes WHERE lc_id = :lc")
                .param("lc", lcId)
                .param("bytes", bytes)
                .update();
    }

    public long storedBytes(long lcId) {
        return jdbc.sql("SELECT stored_bytes FROM image_copy WHERE lc_id = :lc")
                .param("lc", lcId)
                .query(Long.class)
                .single();
    }

    /** The filled copy becomes clonable; an import counts as its first use. */
    public void markReady(long lcId, long storedBytes) {
        jdbc.sql("UPDATE image_copy SET ready = TRUE, stored_bytes = :bytes, last_used_at = now() WHERE lc_id = :lc")
                .param("lc", lcId)
                .param("bytes", storedBytes)
                .update();
    }

    /**
     * Records {@code made} clones of the lc {@code parentLcId}: the copy's last use and clone count,
     * and {@code hits} more hits. One statement, and none of it when the parent is not an image's
     * copy (a snapshot's lc).
     */
    public void cloned(long parentLcId, int made, int hits) {
        jdbc.sql("UPDATE image_copy SET last_used_at = now(), clones = clones + :made, hits = hits + :hits"
                        + " WHERE lc_id = :lc")
                .param("lc", parentLcId)
                .param("made", made)
                .param("hits", hits)
                .update();
    }

    /** Sets the clone counts of the image's copies to the clones that exist now. */
    void recount(String imageId) {
        jdbc.sql("UPDATE image_copy c SET clones = (SELECT count(*) FROM lc WHERE lc.parent_lc_id = c.lc_id)"
                        + " WHERE c.extern_id = :image")
                .param("image", imageId)
                .update();
    }

    void missed(int disks) {
        jdbc.sql("UPDATE cache_stats SET misses = misses + :disks")
                .param("disks", disks)
                .update();
    }

    /** The hits a copy served, read before it is dropped so that the total keeps them. */
    long hitsOf(long lcId) {
        return jdbc.sql("SELECT hits FROM image_copy WHERE lc_id = :lc")
                .param("lc", lcId)
                .query(Long.class)
                .optional()
                .orElse(0L);
    }

    /**
     * Counts evictions and keeps the hits of the copies they dropped. Once per transaction, after
     * every image lock it takes: the counter row is locked last, as everywhere else.
     */
    void evicted(int copies, long hits) {
        jdbc.sql("UPDATE cache_stats SET evictions = evictions + :copies, hits = hits + :hits")
                .param("copies", copies)
                .param("hits", hits)
                .update();
    }

    public void imported(long bytes) {
        jdbc.sql("UPDATE cache_stats SET imports = imports + 1, bytes_imported = bytes_imported + :bytes")
                .param("bytes", bytes)
                .update();
    }

    boolean hasSource(String imageId) {
        return jdbc.sql("SELECT EXISTS (SELECT 1 FROM image_source WHERE extern_id = :image)")
                .param("image", imageId)
                .query(Boolean.class)
                .single();
    }

    /** Bytes held or reserved by copies of images that have a source (the cache proper). */
    long usedBytes() {
        return jdbc.sql("""
                        SELECT coalesce(sum(c.stored_bytes), 0) FROM image_copy c
                        WHERE EXISTS (SELECT 1 FROM image_source s WHERE s.extern_id = c.extern_id)""").query(Long.class).single();
    }

    /**
     * The ready copy of the image new clones go to: the one with the fewest clones made from it.
     *
     * @param clones clones made from it, which may count some that are gone since ({@link #recount})
     * @param copies how many ready copies the image has
     */
    public record CopyChoice(Lc lc, long clones, int copies) {}

    /** One statement: the clone path reads its parent lc here rather than by the image's lc_id. */
    public Optional<CopyChoice> leastLoaded(String imageId) {
        return jdbc.sql("SELECT c.lc_id, c.clones, count(*) OVER () AS copies, l.family_id, l.size_bytes, l.frozen"
                        + " FROM image_copy c JOIN lc l ON l.lc_id = c.lc_id"
                        + " WHERE c.extern_id = :image AND c.ready ORDER BY c.clones, c.lc_id LIMIT 1")
                .param("image", imageId)
                .query((rs, row) -> new CopyChoice(
                        new Lc(rs.getLong(1), null, rs.getLong(4), rs.getLong(5), rs.getBoolean(6)),
                        rs.getLong(2),
                        rs.getInt(3)))
                .optional();
    }

    /** The image's ready copies, oldest first. */
    public List<Long> readyCopies(String imageId) {
        return jdbc.sql("SELECT lc_id FROM image_copy WHERE extern_id = :image AND ready ORDER BY lc_id")
                .param("image", imageId)
                .query(Long.class)
                .list();
    }

    /** A copy that may be evicted, with what it holds. */
    record Evictable(String imageId, long lcId, long storedBytes) {}

    /**
     * Ready copies of imported images other than {@code importing} that no lc reads from and no
     * operation works on, least recently used first.
     */
    List<Evictable> evictable(String importing) {
        return jdbc.sql("""
                        SELECT c.extern_id, c.lc_id, c.stored_bytes FROM image_copy c
                        JOIN image_source s ON s.extern_id = c.extern_id
                        JOIN resource r ON r.extern_id = c.extern_id
                        WHERE c.ready AND c.extern_id <> :importing AND r.state = 'available'
                          AND NOT EXISTS (SELECT 1 FROM lc WHERE lc.parent_lc_id = c.lc_id)
                          AND NOT EXISTS (SELECT 1 FROM operation o
                                          WHERE o.target_extern_id = c.extern_id AND o.state = 'running')
                        ORDER BY c.last_used_at, c.lc_id""")
                .param("importing", importing)
                .query((rs, row) -> new Evictable(rs.getString(1), rs.getLong(2), rs.getLong(3)))
                .list();
    }

    /** The ready copies of each image, with their clone counts. */
    public Map<String, List<ImageCopy>> copiesOf(List<String> imageIds) {
        Map<String, List<ImageCopy>> found = new HashMap<>();
        if (imageIds.isEmpty()) {
            return found;
        }
        jdbc.sql("""
                        SELECT c.extern_id, c.lc_id, c.stored_bytes, c.last_used_at,
                               (SELECT count(*) FROM lc WHERE lc.parent_lc_id = c.lc_id) AS clones
                        FROM image_copy c WHERE c.ready AND c.extern_id = ANY (CAST(:ids AS text[]))
                        ORDER BY c.lc_id""").param("ids", imageIds.toArray(String[]::new)).query((ResultSet rs) -> {
            found.computeIfAbsent(rs.getString("extern_id"), id -> new ArrayList<>())
                    .add(map(rs));
        });
        return found;
    }

    private static ImageCopy map(ResultSet rs) throws SQLException {
        return new ImageCopy(
                rs.getLong("lc_id"),
                rs.getLong("stored_bytes"),
                rs.getLong("clones"),
                rs.getObject("last_used_at", OffsetDateTime.class).toInstant());
    }

    /** The figures of {@link CacheStats} that the database holds. */
    CacheStats stats(long capacityBytes, int maxClonesPerCopy) {
        return jdbc.sql("""
                        SELECT
                          (SELECT coalesce(sum(c.stored_bytes), 0) FROM image_copy c
                           WHERE EXISTS (SELECT 1 FROM image_source s WHERE s.extern_id = c.extern_id)) AS used,
                          (SELECT count(*) FROM image_copy WHERE ready) AS copies,
                          (SELECT count(*) FROM image_copy c WHERE c.ready
                           AND NOT EXISTS (SELECT 1 FROM image_source s WHERE s.extern_id = c.extern_id)) AS pinned,
                          (SELECT count(*) FROM operation WHERE kind = 'import' AND state = 'running') AS in_flight,
                          (SELECT count(*) FROM image_copy c WHERE c.ready
                           AND (SELECT count(*) FROM lc WHERE lc.parent_lc_id = c.lc_id) > :limit) AS over,
                          s.hits + (SELECT coalesce(sum(hits), 0) FROM image_copy) AS hits,
                          s.misses, s.evictions, s.imports, s.bytes_imported
                        FROM cache_stats s""")
                .param("limit", maxClonesPerCopy)
                .query((rs, row) -> new CacheStats(
                        capacityBytes,
                        rs.getLong("used"),
                        rs.getLong("copies"),
                        rs.getLong("pinned"),
                        rs.getLong("hits"),
                        rs.getLong("misses"),
                        rs.getLong("evictions"),
                        rs.getLong("imports"),
                        rs.getLong("in_flight"),
                        rs.getLong("bytes_imported"),
                        maxClonesPerCopy,
                        rs.getLong("over")))
                .single();
    }
}
