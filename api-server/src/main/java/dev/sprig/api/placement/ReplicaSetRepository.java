package dev.sprig.api.placement;

import dev.sprig.api.placement.ReplicaSet.Member;
import dev.sprig.api.placement.ReplicaSet.State;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** {@code replica_set} and {@code replica_member}. */
@Repository
class ReplicaSetRepository {

    private static final String SETS = """
            SELECT s.family_id, s.column_no, s.epoch, m.node_id, m.position, m.state
            FROM replica_set s JOIN replica_member m USING (family_id, column_no)
            """;

    private final JdbcClient jdbc;

    ReplicaSetRepository(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    /** The family's sets by column; empty when it is not placed. One query on the primary keys. */
    List<ReplicaSet> of(long familyId) {
        return sets(jdbc.sql(SETS + " WHERE s.family_id = :family ORDER BY s.column_no, m.position")
                .param("family", familyId)
                .query(Row::of)
                .list());
    }

    /** The sets of all of {@code familyIds}, by family and column. */
    List<ReplicaSet> of(Collection<Long> familyIds) {
        if (familyIds.isEmpty()) {
            return List.of();
        }
        return sets(jdbc.sql(SETS + " WHERE s.family_id = ANY(:families) ORDER BY s.family_id, s.column_no, m.position")
                .param("families", familyIds.toArray(Long[]::new))
                .query(Row::of)
                .list());
    }

    /** Locks the family's sets (by column, so that two lockers cannot deadlock) until the transaction ends. */
    void lock(long familyId) {
        jdbc.sql("SELECT column_no FROM replica_set WHERE family_id = :family ORDER BY column_no FOR UPDATE")
                .param("family", familyId)
                .query(Integer.class)
                .list();
    }

    /**
     * Records the family's sets, {@code members.get(c)} being column {@code c}'s nodes by position,
     * all in sync at epoch 1; false, recording nothing, when the family was placed first by another
     * transaction (whose commit this one waited for).
     */
    boolean placeIfAbsent(long familyId, List<List<String>> members) {
        // column 0 is the claim: a concurrent placement of the family waits here for this one's end
        int claimed = jdbc.sql(
                        "INSERT INTO replica_set (family_id, column_no) VALUES (:family, 0) ON CONFLICT DO NOTHING")
                .param("family", familyId)
                .update();
        if (claimed == 0) {
            return false;
        }
        List<Integer> columns = new ArrayList<>();
        List<String> nodes = new ArrayList<>();
        List<Integer> positions = new ArrayList<>();
        for (int column = 0; column < members.size(); column++) {
            for (int position = 0; position < members.get(column).size(); position++) {
                columns.add(column);
                nodes.add(members.get(column).get(position));
                positions.add(position);
            }
        }
        jdbc.sql("""
                        INSERT INTO replica_set (family_id, column_no)
                        SELECT :family, c FROM generate_series(1, :last) AS c""")
                .param("family", familyId)
                .param("last", members.size() - 1)
                .update();
        jdbc.sql("""
                        INSERT INTO replica_member (family_id, column_no, node_id, position, state)
                        SELECT :family, c, n, p, 'in_sync'
                        FROM unnest(:columns::INTEGER[], :nodes::TEXT[], :positions::INTEGER[]) AS m(c, n, p)""")
                .param("family", familyId)
                .param("columns", columns.toArray(Integer[]::new))
                .param("nodes", nodes.toArray(String[]::new))
                .param("positions", positions.toArray(Integer[]::new))
                .update();
        return true;
    }

    /**
     * Marks the node stale (from in sync or rebuilding) in {@code columns} of the family and bumps
     * those columns' epochs.
     */
    void markStale(long familyId, String nodeId, Collection<Integer> columns) {
        Integer[] cols = columns.toArray(Integer[]::new);
        jdbc.sql("""
                        UPDATE replica_member SET state = 'stale', changed_at = now()
                        WHERE family_id = :family AND node_id = :node AND column_no = ANY(:columns)
                            AND state IN ('in_sync', 'rebuilding')""")
                .param("family", familyId)
                .param("node", nodeId)
                .param("columns", cols)
                .update();
        jdbc.sql("UPDATE replica_set SET epoch = epoch + 1 WHERE family_id = :family AND column_no = ANY(:columns)")
                .param("family", familyId)
                .param("columns", cols)
                .update();
    }

    /**
     * Adds {@code nodeId} to the set as a rebuilding member, at the lowest free position; the caller
     * bumps the set's epoch (decision 012: the tokens of the attachment include it from then on).
     */
    void addRebuilding(long familyId, int column, String nodeId) {
        jdbc.sql("""
                        INSERT INTO replica_member (family_id, column_no, node_id, position, state)
                        SELECT :family, :column, :node, min(p), 'rebuilding'
                        FROM generate_series(0, 15) AS p
                        WHERE p NOT IN (SELECT position FROM replica_member
                                        WHERE family_id = :family AND column_no = :column)
                        HAVING min(p) IS NOT NULL""")
                .param("family", familyId)
                .param("column", column)
                .param("node", nodeId)
                .update();
    }

    /**
     * The rebuilding member {@code newNodeId} becomes in sync and {@code oldNodeId} leaves the set;
     * the epoch goes up. False, changing nothing, when {@code newNodeId} is not rebuilding there.
     */
    boolean replace(long familyId, int column, String oldNodeId, String newNodeId) {
        int promoted = jdbc.sql("""
                        UPDATE replica_member SET state = 'in_sync', changed_at = now()
                        WHERE family_id = :family AND column_no = :column AND node_id = :node
                            AND state = 'rebuilding'""")
                .param("family", familyId)
                .param("column", column)
                .param("node", newNodeId)
                .update();
        if (promoted == 0) {
            return false;
        }
        jdbc.sql("DELETE FROM replica_member WHERE family_id = :family AND column_no = :column AND node_id = :node")
                .param("family", familyId)
                .param("column", column)
                .param("node", oldNodeId)
                .update();
        bumpEpoch(familyId, column);
        return true;
    }

    /** Moves the member from state {@code from} to {@code to}; false, changing nothing, if it was not in {@code from}. */
    boolean changeState(long familyId, int column, String nodeId, State from, State to) {
        return jdbc.sql("""
                                UPDATE replica_member SET state = :to, changed_at = now()
                                WHERE family_id = :family AND column_no = :column AND node_id = :node
                                    AND state = :from""")
                        .param("family", familyId)
                        .param("column", column)
                        .param("node", nodeId)
                        .param("from", from.column())
                        .param("to", to.column())
                        .update()
                > 0;
    }

    void removeMember(long familyId, int column, String nodeId) {
        jdbc.sql("DELETE FROM replica_member WHERE family_id = :family AND column_no = :column AND node_id = :node")
                .param("family", familyId)
                .param("column", column)
                .param("node", nodeId)
                .update();
    }

    void bumpEpoch(long familyId, int column) {
        jdbc.sql("UPDATE replica_set SET epoch = epoch + 1 WHERE family_id = :family AND column_no = :column")
                .param("family", familyId)
                .param("column", column)
                .update();
    }

    /** The families where each node has a stale member (through the partial index on stale members). */
    Map<String, Set<Long>> familiesWithStaleMembers() {
        Map<String, Set<Long>> byNode = new HashMap<>();
        jdbc.sql("SELECT DISTINCT node_id, family_id FROM replica_member WHERE state = 'stale'")
                .query((rs, row) -> byNode.computeIfAbsent(rs.getString("node_id"), node -> new java.util.TreeSet<>())
                        .add(rs.getLong("family_id")))
                .list();
        return byNode;
    }

    /** The sets {@code nodeId} is a member of, in any state, as (family, column). */
    List<Fence> membershipsOf(String nodeId) {
        return jdbc.sql("""
                        SELECT s.family_id, s.column_no, s.epoch
                        FROM replica_member m JOIN replica_set s USING (family_id, column_no)
                        WHERE m.node_id = :node
                        ORDER BY s.family_id, s.column_no""")
                .param("node", nodeId)
                .query((rs, row) -> new Fence(rs.getLong("family_id"), rs.getInt("column_no"), rs.getLong("epoch")))
                .list();
    }

    /** Every set that {@code nodeId} is a member of, in any state, whose epoch is past 1. */
    List<Fence> raisedFencesOf(String nodeId) {
        return jdbc.sql("""
                        SELECT s.family_id, s.column_no, s.epoch
                        FROM replica_member m JOIN replica_set s USING (family_id, column_no)
                        WHERE m.node_id = :node AND s.epoch > 1
                        ORDER BY s.family_id, s.column_no""")
                .param("node", nodeId)
                .query((rs, row) -> new Fence(rs.getLong("family_id"), rs.getInt("column_no"), rs.getLong("epoch")))
                .list();
    }

    /** For each node, the sets it is a member of (in any state) whose epoch is past 1. */
    Map<String, List<Fence>> raisedFences() {
        Map<String, List<Fence>> byNode = new HashMap<>();
        jdbc.sql("""
                        SELECT m.node_id, s.family_id, s.column_no, s.epoch
                        FROM replica_member m JOIN replica_set s USING (family_id, column_no)
                        WHERE s.epoch > 1
                        ORDER BY m.node_id, s.family_id, s.column_no""").query(rs -> {
            byNode.computeIfAbsent(rs.getString("node_id"), node -> new ArrayList<>())
                    .add(new Fence(rs.getLong("family_id"), rs.getInt("column_no"), rs.getLong("epoch")));
        });
        return byNode;
    }

    /**
     * The members of each family every column of which has exactly {@code replicas} members, all in
     * sync (a column without members has no rows, hence the count of columns against the sets).
     */
    Map<Long, Set<String>> settledMembersByFamily(int replicas) {
        Map<Long, Set<String>> byFamily = new HashMap<>();
        jdbc.sql("""
                        SELECT m.family_id, m.node_id
                        FROM replica_member m
                        WHERE m.family_id IN (
                            SELECT c.family_id
                            FROM (SELECT family_id, column_no,
                                         count(*) FILTER (WHERE state = 'in_sync') AS in_sync,
                                         count(*) AS members
                                  FROM replica_member
                                  GROUP BY family_id, column_no) c
                            GROUP BY c.family_id
                            HAVING bool_and(c.in_sync = c.members AND c.members = :replicas)
                               AND count(*) = (SELECT count(*) FROM replica_set s WHERE s.family_id = c.family_id))""").param("replicas", replicas).query(rs -> {
            byFamily.computeIfAbsent(rs.getLong("family_id"), family -> new HashSet<>())
                    .add(rs.getString("node_id"));
        });
        return byFamily;
    }

    /** For each placed family, the nodes in sync in at least one of its columns. */
    Map<Long, Set<String>> inSyncNodesByFamily() {
        Map<Long, Set<String>> byFamily = new HashMap<>();
        jdbc.sql("SELECT DISTINCT family_id, node_id FROM replica_member WHERE state = 'in_sync'")
                .query(rs -> {
                    byFamily.computeIfAbsent(rs.getLong("family_id"), family -> new HashSet<>())
                            .add(rs.getString("node_id"));
                });
        return byFamily;
    }

    private record Row(long familyId, int column, long epoch, Member member) {
        static Row of(ResultSet rs, int row) throws SQLException {
            return new Row(
                    rs.getLong("family_id"),
                    rs.getInt("column_no"),
                    rs.getLong("epoch"),
                    new Member(rs.getString("node_id"), rs.getInt("position"), State.ofColumn(rs.getString("state"))));
        }
    }

    /** Rows ordered by family, column and position, grouped into sets. */
    private static List<ReplicaSet> sets(List<Row> rows) {
        Map<List<Long>, List<Row>> grouped = new LinkedHashMap<>();
        for (Row row : rows) {
            grouped.computeIfAbsent(List.of(row.familyId(), (long) row.column()), key -> new ArrayList<>())
                    .add(row);
        }
        List<ReplicaSet> sets = new ArrayList<>(grouped.size());
        for (List<Row> set : grouped.values()) {
            Row first = set.get(0);
            sets.add(new ReplicaSet(
                    first.familyId(),
                    first.column(),
                    first.epoch(),
                    set.stream().map(Row::member).toList()));
        }
        return sets;
    }
}
