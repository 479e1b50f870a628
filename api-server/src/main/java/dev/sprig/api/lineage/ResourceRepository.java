package dev.sprig.api.lineage;

import dev.sprig.api.paging.PageCursor;
import dev.sprig.api.paging.PageTokens;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.jspecify.annotations.Nullable;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** The resource table: images, disks and snapshots by extern_id. */
@Repository
public class ResourceRepository {

    private static final String COLUMNS = "extern_id, kind, name, size_bytes, state, lc_id, source_extern_id,"
            + " bytes_received, error, created_at, updated_at, labels::text AS labels";

    /** The state of a resource whose deletion waits for its last dependent. */
    public static final String DELETING = "deleting";

    /** The state of a disk while an operation copies what it reads from its ancestors into its own lc. */
    public static final String FLATTENING = "flattening";

    private final JdbcClient jdbc;

    private final JdbcTemplate template;

    private final PageTokens pageTokens;

    ResourceRepository(JdbcClient jdbc, JdbcTemplate template) {
        this.jdbc = jdbc;
        this.template = template;
        this.pageTokens = new PageTokens(
                () -> jdbc.sql("SELECT id FROM installation").query(UUID.class).single());
    }

    /** A new resource; its name must be free among live resources of its kind (a unique index). */
    public void insert(
            String externId,
            ResourceKind kind,
            String name,
            @Nullable Long sizeBytes,
            String state,
            @Nullable Long lcId,
            @Nullable String sourceExternId,
            Labels labels) {
        jdbc.sql("INSERT INTO resource (extern_id, kind, name, size_bytes, state, lc_id, source_extern_id, labels)"
                        + " VALUES (:id, :kind, :name, :size, :state, :lc, :source, CAST(:labels AS jsonb))")
                .param("labels", labels.json())
                .param("id", externId)
                .param("kind", kind.column())
                .param("name", name)
                .param("size", sizeBytes)
                .param("state", state)
                .param("lc", lcId)
                .param("source", sourceExternId)
                .update();
    }

    /**
     * New resources of one kind, state and labels (a bulk clone) in one statement, returned as
     * stored; their names must be free among live resources of the kind.
     */
    public List<Resource> insertAll(ResourceKind kind, String state, Labels labels, List<NewResource> rows) {
        return jdbc.sql("INSERT INTO resource"
                        + " (extern_id, kind, name, size_bytes, state, lc_id, source_extern_id, labels)"
                        + " SELECT id, :kind, name, size, :state, lc, source, CAST(:labels AS jsonb)"
                        + " FROM unnest(CAST(:ids AS text[]),"
                        + " CAST(:names AS text[]), CAST(:sizes AS bigint[]), CAST(:lcs AS bigint[]),"
                        + " CAST(:sources AS text[])) AS row(id, name, size, lc, source)"
                        + " RETURNING " + COLUMNS)
                .param("kind", kind.column())
                .param("state", state)
                .param("labels", labels.json())
                .param("ids", rows.stream().map(NewResource::externId).toArray(String[]::new))
                .param("names", rows.stream().map(NewResource::name).toArray(String[]::new))
                .param("sizes", rows.stream().map(NewResource::sizeBytes).toArray(Long[]::new))
                .param("lcs", rows.stream().map(NewResource::lcId).toArray(Long[]::new))
                .param("sources", rows.stream().map(NewResource::sourceExternId).toArray(String[]::new))
                .query(ResourceRepository::map)
                .list();
    }

    /** @see #insertAll */
    public record NewResource(
            String externId,
            String name,
            long sizeBytes,
            long lcId,
            @Nullable String sourceExternId) {}

    /** How many of {@code names} are disks cloned from {@code sourceId}. */
    public int countClonesNamed(List<String> names, String sourceId) {
        return jdbc.sql("SELECT count(*) FROM resource WHERE kind = 'disk' AND state <> 'deleting'"
                        + " AND source_extern_id = :source AND name = ANY (CAST(:names AS text[]))")
                .param("source", sourceId)
                .param("names", names.toArray(String[]::new))
                .query(Integer.class)
                .single();
    }

    public void delete(String externId) {
        jdbc.sql("DELETE FROM resource WHERE extern_id = :id")
                .param("id", externId)
                .update();
    }

    /**
     * The resources whose lc descends from {@code lcId} (children, grandchildren, ...): what still
     * reads from it. A recursive CTE over the lc tree.
     */
    public List<String> dependentsOf(long lcId) {
        return jdbc.sql("""
                        WITH RECURSIVE below(lc_id) AS (
                            SELECT lc_id FROM lc WHERE parent_lc_id = :lc
                            UNION ALL
                            SELECT lc.lc_id FROM lc JOIN below ON lc.parent_lc_id = below.lc_id)
                        SELECT r.extern_id FROM resource r JOIN below b ON r.lc_id = b.lc_id
                        ORDER BY r.created_at, r.extern_id""").param("lc", lcId).query(String.class).list();
    }

    /** The chain from {@code lcId} up to its root, nearest first, with the resource on each lc if any. */
    public List<LineageStep> lineage(long lcId) {
        return jdbc.sql("""
                        WITH RECURSIVE up(lc_id, parent_lc_id, size_bytes, frozen, depth) AS (
                            SELECT lc_id, parent_lc_id, size_bytes, frozen, 0 FROM lc WHERE lc_id = :lc
                            UNION ALL
                            SELECT lc.lc_id, lc.parent_lc_id, lc.size_bytes, lc.frozen, up.depth + 1
                            FROM lc JOIN up ON lc.lc_id = up.parent_lc_id)
                        SELECT up.lc_id, up.size_bytes, up.frozen, r.extern_id, r.kind, r.name
                        FROM up LEFT JOIN resource r ON r.lc_id = up.lc_id
                        ORDER BY up.depth""")
                .param("lc", lcId)
                .query(ResourceRepository::mapStep)
                .list();
    }

    private static LineageStep mapStep(java.sql.ResultSet rs, int row) throws java.sql.SQLException {
        return new LineageStep(
                rs.getLong("lc_id"),
                rs.getLong("size_bytes"),
                rs.getBoolean("frozen"),
                rs.getString("extern_id"),
                rs.getString("kind") == null ? null : ResourceKind.ofColumn(rs.getString("kind")),
                rs.getString("name"));
    }

    /**
     * The first {@code limit} children of {@code lcId} other than {@code except}, oldest first, with
     * the resource on each if any (V21's index walks them in order, however many there are).
     */
    public List<LineageStep> children(long lcId, long except, int limit) {
        return jdbc.sql("""
                        SELECT lc.lc_id, lc.size_bytes, lc.frozen, r.extern_id, r.kind, r.name
                        FROM lc LEFT JOIN resource r ON r.lc_id = lc.lc_id AND r.state <> 'deleting'
                        WHERE lc.parent_lc_id = :lc AND lc.lc_id <> :except
                        ORDER BY lc.lc_id
                        LIMIT :limit""")
                .param("lc", lcId)
                .param("except", except)
                .param("limit", limit)
                .query(ResourceRepository::mapStep)
                .list();
    }

    /** How many live images, disks and snapshots there are, by kind (kinds with none are absent). */
    public java.util.Map<ResourceKind, Long> countLive() {
        var counts = new java.util.EnumMap<ResourceKind, Long>(ResourceKind.class);
        jdbc.sql("SELECT kind, count(*) AS n FROM resource WHERE state <> 'deleting' GROUP BY kind")
                .query(rs -> {
                    counts.put(ResourceKind.ofColumn(rs.getString("kind")), rs.getLong("n"));
                });
        return counts;
    }

    /** A live resource; one being deleted (deferred) is hidden, as if it were gone. */
    public Optional<Resource> find(String externId, ResourceKind kind) {
        return select(externId, kind, "").filter(resource -> !resource.state().equals(DELETING));
    }

    /** The resource on an lc, if any (deleting or not), as last committed. */
    public Optional<Resource> onLc(long lcId) {
        return onLc(lcId, "");
    }

    /** The resource on an lc, if any, locked (deleting or not). */
    public Optional<Resource> lockOnLc(long lcId) {
        return onLc(lcId, " FOR UPDATE");
    }

    private Optional<Resource> onLc(long lcId, String lockClause) {
        return jdbc.sql("SELECT " + COLUMNS + " FROM resource WHERE lc_id = :lc" + lockClause)
                .param("lc", lcId)
                .query(ResourceRepository::map)
                .optional();
    }

    /** The row locked for the rest of the transaction, so that concurrent changes of one resource queue up. */
    public Optional<Resource> lock(String externId, ResourceKind kind) {
        return select(externId, kind, " FOR UPDATE");
    }

    /** Locked against changes and deletion, but not against other shared lockers (concurrent clones). */
    public Optional<Resource> lockShared(String externId, ResourceKind kind) {
        return select(externId, kind, " FOR SHARE");
    }

    private Optional<Resource> select(String externId, ResourceKind kind, String lockClause) {
        return jdbc.sql("SELECT " + COLUMNS + " FROM resource WHERE extern_id = :id AND kind = :kind" + lockClause)
                .param("id", externId)
                .param("kind", kind.column())
                .query(ResourceRepository::map)
                .optional();
    }

    public void setState(String externId, String state, @Nullable String error) {
        jdbc.sql("UPDATE resource SET state = :state, error = :error, updated_at = now() WHERE extern_id = :id")
                .param("id", externId)
                .param("state", state)
                .param("error", error)
                .update();
    }

    public void setLc(String externId, @Nullable Long lcId) {
        jdbc.sql("UPDATE resource SET lc_id = :lc, updated_at = now() WHERE extern_id = :id")
                .param("id", externId)
                .param("lc", lcId)
                .update();
    }

    /** The size of an image, learned by its import, or of a disk that a resize grew. */
    public void setSize(String externId, long sizeBytes) {
        jdbc.sql("UPDATE resource SET size_bytes = :size, updated_at = now() WHERE extern_id = :id")
                .param("id", externId)
                .param("size", sizeBytes)
                .update();
    }

    public void setBytesReceived(String externId, long bytes) {
        jdbc.sql("UPDATE resource SET bytes_received = :bytes, updated_at = now() WHERE extern_id = :id")
                .param("id", externId)
                .param("bytes", bytes)
                .update();
    }

    /** Replaces a resource's labels. */
    public void setLabels(String externId, Labels labels) {
        jdbc.sql("UPDATE resource SET labels = CAST(:labels AS jsonb), updated_at = now() WHERE extern_id = :id")
                .param("id", externId)
                .param("labels", labels.json())
                .update();
    }

    /**
     * A page of resources of one kind in creation order, filtered as {@code filter} says. A filter
     * by source (a snapshot's disk, a disk's image or snapshot) or by labels reads only the
     * resources that match, through their indexes.
     */
    public ResourcePage page(ResourceKind kind, ResourceFilter filter, @Nullable PageCursor after, int pageSize) {
        String state = filter.state();
        String namePrefix = filter.namePrefix();
        String sourceId = filter.sourceId();
        StringBuilder sql = new StringBuilder("SELECT " + COLUMNS + " FROM resource WHERE kind = :kind");
        var statement = new java.util.HashMap<String, Object>();
        statement.put("kind", kind.column());
        if (!filter.labels().isEmpty()) {
            sql.append(" AND labels @> CAST(:labels AS jsonb)");
            statement.put("labels", filter.labels().json());
        }
        if (filter.sourceUrl() != null) {
            sql.append(" AND EXISTS (SELECT 1 FROM image_source s WHERE s.extern_id = resource.extern_id"
                    + " AND s.url = :sourceUrl)");
            statement.put("sourceUrl", filter.sourceUrl());
        }
        if (sourceId != null) {
            sql.append(" AND source_extern_id = :source");
            statement.put("source", sourceId);
        }
        if (state != null) {
            sql.append(" AND state = :state");
            statement.put("state", state);
        } else {
            sql.append(" AND state <> '" + DELETING + "'");
        }
        if (namePrefix != null) {
            sql.append(" AND name LIKE :prefix ESCAPE '\\'");
            statement.put(
                    "prefix",
                    namePrefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%");
        }
        if (after != null) {
            PageTokens.Position position = pageTokens.position(after);
            sql.append(" AND (created_at, extern_id) > (:afterAt, :afterId)");
            statement.put("afterAt", OffsetDateTime.ofInstant(position.createdAt(), ZoneOffset.UTC));
            statement.put("afterId", position.externId());
        }
        sql.append(" ORDER BY created_at, extern_id LIMIT :limit");
        statement.put("limit", pageSize + 1);
        List<Resource> rows = jdbc.sql(sql.toString())
                .params(statement)
                .query(ResourceRepository::map)
                .list();
        PageTokens.Cut<Resource> page =
                pageTokens.cut(rows, pageSize, last -> new PageTokens.Position(last.createdAt(), last.externId()));
        return new ResourcePage(page.items(), page.nextPageToken());
    }

    private static Resource map(ResultSet rs, int row) throws SQLException {
        return new Resource(
                rs.getString("extern_id"),
                ResourceKind.ofColumn(rs.getString("kind")),
                rs.getString("name"),
                rs.getObject("size_bytes", Long.class),
                rs.getString("state"),
                rs.getObject("lc_id", Long.class),
                rs.getString("source_extern_id"),
                rs.getLong("bytes_received"),
                rs.getString("error"),
                rs.getObject("created_at", OffsetDateTime.class).toInstant(),
                rs.getObject("updated_at", OffsetDateTime.class).toInstant(),
                Labels.parse(rs.getString("labels")));
    }
}
