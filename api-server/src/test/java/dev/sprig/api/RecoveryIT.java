package dev.sprig.api;

import static dev.sprig.api.ImageAndDiskApiIT.imageContent;
import static dev.sprig.api.ImageAndDiskApiIT.unique;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.api.StorageNodeProcesses.NodeProcess;
import dev.sprig.api.backend.ReplicaCopies;
import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.lineage.Reconciler;
import dev.sprig.api.placement.ReplicaSet;
import dev.sprig.api.placement.ReplicaSet.Member;
import dev.sprig.api.placement.ReplicaSets;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * Re-replication (decision 012) on four real storage-node processes, three replicas per column: a
 * member node killed and silent past {@code down-after} is replaced in each of its columns by the
 * one node that is not in it, which joins as {@code rebuilding} (listed so in attachments, with a
 * URI to write to), is filled node to node by a recovery operation with byte progress, and ends in
 * sync with the same bytes as the other members while the dead node has left the sets; a drained
 * node's memberships move the same way while it stays in sync, and it ends empty and removable. The
 * nodes are registered by the test, which also sends the live ones' heartbeats.
 */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "sprig.api.api-keys=" + RecoveryIT.KEY,
            "sprig.api.admin-keys=" + RecoveryIT.ADMIN,
            "sprig.api.backend.type=nodes",
            "sprig.api.backend.nodes.replicas=3",
            "sprig.api.backend.nodes.min-in-sync=2",
            "sprig.api.backend.nodes.call-timeout=3s",
            "sprig.api.nodes.unreachable-after=4s",
            "sprig.api.nodes.down-after=5s",
            "sprig.api.reconcile-interval=10m",
            "sprig.api.recovery.scan-interval=300ms",
            // slow enough that the rebuilding state and the progress can be seen, fast enough for CI
            "sprig.api.recovery.bytes-per-second=4MB",
            "sprig.api.recovery.concurrent-copies=2",
            "resilience4j.circuitbreaker.configs.storage-node.wait-duration-in-open-state=1s"
        })
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RecoveryIT {

    static final String KEY = "recovery-key-0123456789";
    static final String ADMIN = "recovery-admin-0123456789";
    static final int MIB = 1 << 20;
    static final int PC = 4 * MIB;
    /** Inside segment 1 of PC 0 (column 0), not on a block boundary. */
    static final long PARTIAL_AT = 300_000;

    static StorageNodeProcesses nodes;

    /** The family the tests replicate, its image's lc and the image's bytes. */
    static long family;

    static long imageLc;
    static byte[] content;

    /** The disk's writable lc and what it reads, as the first test leaves them. */
    static long writableLc;

    static byte[] writableBytes;

    /** The nodes the test sends heartbeats for, every 400 ms from the first test to the end. */
    static final List<NodeProcess> alive = new java.util.concurrent.CopyOnWriteArrayList<>();

    static final ScheduledExecutorService heartbeats = Executors.newSingleThreadScheduledExecutor();

    @DynamicPropertySource
    static void dataDirs(DynamicPropertyRegistry registry) {
        TestDataDirs.isolate(registry, "recovery");
    }

    @BeforeAll
    static void fourStorageNodes() {
        nodes = new StorageNodeProcesses(4, TestDataDirs.fresh("recovery-processes"));
    }

    @AfterAll
    static void stopNodes() {
        heartbeats.shutdownNow();
        if (nodes != null) {
            nodes.close();
        }
    }

    @LocalServerPort
    int port;

    @Autowired
    ReplicaSets sets;

    @Autowired
    StorageBackend backend;

    @Autowired
    JdbcTemplate jdbc;

    @Autowired
    ReplicaCopies copies;

    @Autowired
    Reconciler reconciler;

    @Test
    @Order(1)
    void aDeadMembersColumnsGetANewMemberFilledFromTheOthersThatEndsInSyncWithTheSameBytes() throws Exception {
        ApiClient api = new ApiClient(port, KEY);
        ApiClient admin = api.withKey(ADMIN);
        alive.addAll(nodes.nodes);
        heartbeats.scheduleWithFixedDelay(
                () -> alive.forEach(node -> admin.registerNode(node.id, node.registration())),
                0,
                400,
                TimeUnit.MILLISECONDS);
        await("the four nodes registered", () -> jdbc.queryForObject("SELECT count(*) FROM node", Long.class) == 4);

        // an image (three PCs: one per column), a disk written through the nodes, a snapshot of it
        content = imageContent(3 * PC);
        String image = api.availableImage(content);
        imageLc = lcOf(api, "/v1/images/" + image);
        JsonNode disk = api.clone(image);
        long diskLc = disk.path("lcId").asLong();
        byte[] written = new byte[2 * MIB];
        new Random(20).nextBytes(written);
        backend.write(diskLc, PC - MIB, ByteBuffer.wrap(written));
        backend.flush(diskLc);
        HttpResponse<String> snapshot =
                api.post("/v1/disks/" + ApiClient.id(disk) + "/snapshots", "{\"name\":\"" + unique("s") + "\"}");
        assertThat(snapshot.statusCode()).as(snapshot.body()).isEqualTo(201);
        long snapshotLc = ApiClient.json(snapshot).path("lcId").asLong();
        writableLc = ApiClient.json(api.get("/v1/disks/" + ApiClient.id(disk)))
                .path("lcId")
                .asLong();
        family = jdbc.queryForObject("SELECT family_id FROM lc WHERE lc_id = ?", Long.class, diskLc);
        List<ReplicaSet> before = sets.of(family);
        assertThat(before)
                .extracting(RecoveryIT::memberIds)
                .containsExactly(
                        List.of("node1", "node2", "node3"),
                        List.of("node2", "node3", "node4"),
                        List.of("node3", "node4", "node1"));

        // the node metrics are read every few seconds
        await("the four nodes up on /actuator/prometheus", () -> api.gauge("sprig_nodes", "state=\"up\"") == 4);
        assertThat(api.gauge("sprig_nodes", "state=\"down\"")).isZero();
        assertThat(api.gauge("sprig_nodes_state", "node=\"node2\"", "state=\"up\""))
                .isEqualTo(1);

        NodeProcess dead = nodes.node(2);
        alive.remove(dead);
        dead.kill();

        // node2 is down after 5 s; column 0 gets node4, column 1 gets node1, each rebuilding
        await("a rebuilding member in column 0", () -> sets.of(family).get(0).hasRebuilding("node4"));
        HttpResponse<String> attachment = api.get("/v1/disks/" + ApiClient.id(disk) + "/attachment");
        assertThat(attachment.statusCode()).as(attachment.body()).isEqualTo(200);
        JsonNode column0 = ApiClient.json(attachment).path("columns").get(0);
        JsonNode rebuilding = member(column0, "node4");
        assertThat(rebuilding.path("state").asString()).isEqualTo("rebuilding");
        assertThat(rebuilding.path("nbd").asString()).startsWith("nbd://");
        assertThat(member(column0, "node2").path("state").asString()).isEqualTo("stale");
        assertThat(ApiClient.json(attachment).path("redundancy").asString()).isEqualTo("degraded");
        assertThat(rebuildingOn(admin, "node4"))
                .as("node4's memberships being rebuilt, as GET /v1/nodes says")
                .isPositive();
        assertThat(api.gauge("sprig_replica_sets_rebuilding")).isPositive();
        await(
                "the bytes a running recovery has left, on /actuator/prometheus",
                () -> api.gauge("sprig_recovery_left_bytes") > 0);
        // a live write while the column is rebuilt: whole segments, so that order does not matter
        byte[] live = new byte[512 * 1024];
        new Random(21).nextBytes(live);
        backend.write(writableLc, 2 * MIB, ByteBuffer.wrap(live));
        // and a partial one, into a segment the new member fills from its rebuild source first
        byte[] partial = new byte[4096];
        new Random(22).nextBytes(partial);
        backend.write(writableLc, PARTIAL_AT, ByteBuffer.wrap(partial));
        backend.flush(writableLc);

        List<String> recoveries = new ArrayList<>();
        await("two recoveries, as GET /v1/operations lists them", () -> {
            recoveries.clear();
            ApiClient.json(api.get("/v1/operations?kind=recovery"))
                    .path("items")
                    .forEach(operation -> recoveries.add(operation.path("id").asString()));
            return recoveries.size() == 2;
        });
        assertThat(ApiClient.json(api.get("/v1/operations?kind=flatten")).path("items"))
                .as("no flatten in this test")
                .isEmpty();
        HttpResponse<String> unknownKind = api.get("/v1/operations?kind=rebuild");
        assertThat(unknownKind.statusCode()).isEqualTo(400);
        assertThat(unknownKind.body()).contains("kind must be one of flatten, import, clone, copy, recovery");
        List<JsonNode> running = new ArrayList<>();
        for (String id : recoveries) {
            JsonNode finished = api.awaitFinished(id, polled -> {
                if (polled.path("state").asString().equals("running")
                        && polled.path("done").asLong() > 0) {
                    running.add(polled);
                }
            });
            assertThat(finished.path("state").asString())
                    .as(finished.toString())
                    .isEqualTo("succeeded");
            assertThat(finished.path("kind").asString()).isEqualTo("recovery");
            assertThat(finished.path("unit").asString()).isEqualTo("bytes");
            assertThat(finished.path("total").asLong()).isGreaterThan(MIB);
            assertThat(finished.path("done").asLong())
                    .isEqualTo(finished.path("total").asLong());
        }
        assertThat(running)
                .as("progress seen while running, with a rate and what is left")
                .isNotEmpty()
                .allSatisfy(polled -> {
                    assertThat(polled.path("done").asLong())
                            .isLessThanOrEqualTo(polled.path("total").asLong());
                    assertThat(polled.path("ratePerSecond").asLong()).isPositive();
                    assertThat(polled.path("estimatedSecondsLeft").isNumber()).isTrue();
                });

        // (once the recoveries are done: the node metrics refresh every 5 s, and a wait for them any
        // earlier could outlast the rebuild the test watches; node2 stays down)
        // what the NodeDown alert reads: node2, silent past down-after, and the other three up
        await("node2 down on /actuator/prometheus", () -> api.gauge("sprig_nodes", "state=\"down\"") == 1);
        assertThat(api.gauge("sprig_nodes", "state=\"up\"")).isEqualTo(3);
        assertThat(api.gauge("sprig_nodes_state", "node=\"node2\"", "state=\"down\""))
                .isEqualTo(1);
        assertThat(api.gauge("sprig_nodes_state", "node=\"node2\"", "state=\"up\""))
                .isZero();
        assertThat(api.gauge("sprig_nodes_state", "node=\"node1\"", "state=\"up\""))
                .isEqualTo(1);

        List<ReplicaSet> after = sets.of(family);
        assertThat(after)
                .extracting(RecoveryIT::memberIds)
                .as("the new member takes the first free position; the dead one left")
                .containsExactly(
                        List.of("node1", "node3", "node4"),
                        List.of("node3", "node4", "node1"),
                        List.of("node3", "node4", "node1"));
        for (int column = 0; column < 3; column++) {
            assertThat(after.get(column).inSync()).as("column " + column).hasSize(3);
            assertThat(after.get(column).epoch())
                    .as("the epoch of column " + column + ": up at the join and at the end")
                    .isEqualTo(before.get(column).epoch() + (column < 2 ? 2 : 0));
        }
        byte[] snapshotBytes = content.clone();
        System.arraycopy(written, 0, snapshotBytes, PC - MIB, written.length);
        writableBytes = snapshotBytes.clone();
        System.arraycopy(live, 0, writableBytes, 2 * MIB, live.length);
        System.arraycopy(partial, 0, writableBytes, (int) PARTIAL_AT, partial.length);
        assertSameOnEveryMember(after, image, imageLc, content);
        assertSameOnEveryMember(after, "snapshot", snapshotLc, snapshotBytes);
        assertSameOnEveryMember(after, "disk", writableLc, writableBytes);
        assertThat(ApiClient.json(api.get("/v1/disks/" + ApiClient.id(disk) + "/attachment"))
                        .path("redundancy")
                        .asString())
                .isEqualTo("healthy");
        assertThat(api.gauge("sprig_replica_sets_rebuilding")).isZero();
        assertThat(api.gauge("sprig_recovery_left_bytes")).isZero();
        assertThat(rebuildingOn(admin, "node4")).isZero();

        // what a run resumed after a crash builds on: every lc of the family recorded as filled,
        // and a fill of a PC the new member holds copies nothing
        List<Long> familyLcs =
                jdbc.queryForList("SELECT lc_id FROM lc WHERE family_id = ? ORDER BY lc_id", Long.class, family);
        for (String id : recoveries) {
            List<Long> filled = jdbc.queryForList(
                    "SELECT unnest(filled_lc_ids) FROM recovery WHERE operation_id = ? ORDER BY 1", Long.class, id);
            assertThat(filled).as("the lcs recovery " + id + " filled").isEqualTo(familyLcs);
        }
        assertThat(copies.fill("node4", "node1", imageLc, 0, 1L << 30))
                .as("bytes a second fill of PC 0 copied")
                .isZero();
    }

    /**
     * Node2, replaced while it was down (the first test), comes back with its old copies of the
     * family's lcs. The family's sets are complete without it, so those copies are strays: the
     * reconciler's first pass notes them, its second deletes them, and the members keep theirs.
     */
    @Test
    @Order(2)
    void aReplacedNodeThatComesBackLosesItsStrayCopiesOnTheReconcilersSecondPass() {
        NodeProcess returned = nodes.node(2);
        returned.start();
        returned.awaitUp();
        alive.add(returned);
        await(
                "node2 up again",
                () -> jdbc.queryForObject(
                                "SELECT count(*) FROM node WHERE node_id = 'node2' AND last_heartbeat_at > now() - interval '2 seconds'",
                                Long.class)
                        == 1);
        List<Long> familyLcs = jdbc.queryForList("SELECT lc_id FROM lc WHERE family_id = ?", Long.class, family);
        assertThat(heldOn("node2")).as("node2's old copies").containsAll(familyLcs);

        Reconciler.Report first = reconciler.periodic();
        assertThat(first).isNotNull();
        assertThat(first.strayCopiesDeleted()).as("the first pass deletes none").isEmpty();
        assertThat(heldOn("node2")).containsAll(familyLcs);
        Reconciler.Report second = reconciler.periodic();

        assertThat(second).isNotNull();
        assertThat(second.strayCopiesDeleted())
                .as("node2's copies, children first")
                .containsOnlyKeys("node2")
                .hasEntrySatisfying(
                        "node2",
                        deleted -> assertThat(deleted)
                                .containsExactlyInAnyOrderElementsOf(familyLcs)
                                .isSortedAccordingTo(Comparator.reverseOrder()));
        assertThat(heldOn("node2")).doesNotContainAnyElementsOf(familyLcs);
        for (String member : List.of("node1", "node3", "node4")) {
            assertThat(heldOn(member)).as("a member's copies").containsAll(familyLcs);
        }
        assertSameOnEveryMember(sets.of(family), "disk", writableLc, writableBytes);
    }

    private Set<Long> heldOn(String nodeId) {
        return backend.inventory().heldBy().getOrDefault(nodeId, Set.of());
    }

    /**
     * The state a leader that crashed in the middle of a recovery leaves: the operation running, its
     * new member rebuilding, the lcs it filled recorded (and their segments on the new member). The
     * leader takes it up again (one more attempt), fills what is left, and ends it like any other.
     * Node2, back and empty since the test before, replaces node1 in column 2 here.
     */
    @Test
    @Order(3)
    void aRecoveryLeftRunningByACrashIsResumedFromTheLcsItHadFilled() {
        ApiClient api = new ApiClient(port, KEY);
        long epoch = sets.of(family).get(2).epoch();
        // what the start of the recovery did: the family's lcs defined on the new member, and the
        // rebuild sources of every one of them
        copies.define(
                "node2",
                jdbc.query(
                        "SELECT lc_id, parent_lc_id, family_id, size_bytes, frozen FROM lc WHERE family_id = ?"
                                + " ORDER BY lc_id",
                        (rs, row) -> new StorageBackend.LcSpec(
                                rs.getLong("lc_id"),
                                (Long) rs.getObject("parent_lc_id"),
                                rs.getLong("family_id"),
                                rs.getLong("size_bytes"),
                                rs.getBoolean("frozen")),
                        family));
        for (long lc : jdbc.queryForList("SELECT lc_id FROM lc WHERE family_id = ?", Long.class, family)) {
            copies.setRebuildSource("node2", "node3", lc);
        }
        // what the crashed run did before it recorded the image's lc as filled
        copies.fill("node2", "node3", imageLc, 2, 1L << 30);
        String id = "op-resumed000000001";
        jdbc.update(
                "UPDATE replica_member SET state = 'stale' WHERE family_id = ? AND column_no = 2"
                        + " AND node_id = 'node1'",
                family);
        jdbc.update(
                "INSERT INTO replica_member (family_id, column_no, node_id, position, state)"
                        + " VALUES (?, 2, 'node2', 3, 'rebuilding')",
                family);
        jdbc.update("UPDATE replica_set SET epoch = epoch + 1 WHERE family_id = ? AND column_no = 2", family);
        jdbc.update(
                "INSERT INTO operation (operation_id, kind, target_extern_id, state, total, attempts)"
                        + " VALUES (?, 'recovery', ?, 'running', 0, 1)",
                id,
                "rs-" + family + "-2");
        jdbc.update(
                "INSERT INTO recovery (operation_id, family_id, column_no, old_node_id, new_node_id,"
                        + " filled_lc_ids) VALUES (?, ?, 2, 'node1', 'node2', ARRAY[?]::BIGINT[])",
                id,
                family,
                imageLc);

        JsonNode finished = api.awaitFinished(id);

        assertThat(finished.path("state").asString()).as(finished.toString()).isEqualTo("succeeded");
        assertThat(jdbc.queryForObject("SELECT attempts FROM operation WHERE operation_id = ?", Integer.class, id))
                .as("taken up once more")
                .isEqualTo(2);
        assertThat(finished.path("done").asLong())
                .as("the image's bytes in column 2 count as done")
                .isGreaterThan(MIB);
        List<ReplicaSet> after = sets.of(family);
        assertThat(memberIds(after.get(2))).containsExactly("node3", "node4", "node2");
        assertThat(after.get(2).inSync()).hasSize(3);
        assertThat(after.get(2).epoch()).isEqualTo(epoch + 2);
        assertSameOnEveryMember(after, "the image", imageLc, content);
    }

    /**
     * Drain (decision 012): node1, up, is drained while the disk takes writes. Each of its columns
     * gets node2 as a rebuilding member while node1 stays in sync; once node2 is in sync node1
     * leaves the set, its copies of the family's lcs are deleted, and it can be removed.
     */
    @Test
    @Order(4)
    void aDrainedNodesMembershipsMoveWhileItStaysInSyncAndItEndsEmptyAndRemovable() {
        ApiClient api = new ApiClient(port, KEY);
        ApiClient admin = api.withKey(ADMIN);
        List<ReplicaSet> before = sets.of(family);
        assertThat(before)
                .extracting(RecoveryIT::memberIds)
                .containsExactly(
                        List.of("node1", "node3", "node4"),
                        List.of("node3", "node4", "node1"),
                        List.of("node3", "node4", "node2"));
        // whole PCs 0 and 1 of the disk, which node2 (in neither column) does not hold: each move then
        // copies at least 4 MiB at 4 MB/s, long enough to be seen and to refuse a removal meanwhile
        byte[] full = new byte[2 * PC];
        new Random(24).nextBytes(full);
        backend.write(writableLc, 0, ByteBuffer.wrap(full));
        backend.flush(writableLc);
        System.arraycopy(full, 0, writableBytes, 0, full.length);
        long recoveriesBefore =
                jdbc.queryForObject("SELECT count(*) FROM operation WHERE kind = 'recovery'", Long.class);

        HttpResponse<String> drain = admin.post("/v1/nodes/node1:drain", "");
        assertThat(drain.statusCode()).as(drain.body()).isEqualTo(200);
        // a move starts at the next scan and copies for a second or more: node1 is a member of both
        // sets for far longer than the few milliseconds this call takes
        HttpResponse<String> refused = admin.delete("/v1/nodes/node1");
        assertThat(refused.statusCode()).as(refused.body()).isEqualTo(409);

        List<ReplicaSet> moving = new ArrayList<>();
        await("node2 rebuilding in a column of node1's", () -> {
            moving.clear();
            moving.addAll(sets.of(family));
            return moving.get(0).hasRebuilding("node2") || moving.get(1).hasRebuilding("node2");
        });
        for (ReplicaSet set : moving) {
            if (set.hasRebuilding("node2")) {
                assertThat(set.hasInSync("node1"))
                        .as("node1 stays in sync in column " + set.column() + " while node2 joins")
                        .isTrue();
                assertThat(set.inSync()).as("column " + set.column()).hasSize(3);
            }
        }
        // writes while the memberships move: whole segments in PCs 0 and 1 (node1's columns)
        byte[] live = new byte[512 * 1024];
        new Random(23).nextBytes(live);
        backend.write(writableLc, 3 * MIB, ByteBuffer.wrap(live));
        backend.write(writableLc, PC + 3 * MIB, ByteBuffer.wrap(live));
        backend.flush(writableLc);
        System.arraycopy(live, 0, writableBytes, 3 * MIB, live.length);
        System.arraycopy(live, 0, writableBytes, PC + 3 * MIB, live.length);

        await("node1 a member of no set", () -> sets.membershipsOf("node1").isEmpty());
        await(
                "the moves finished",
                () -> jdbc.queryForObject(
                                "SELECT count(*) FROM operation WHERE kind = 'recovery' AND state = 'running'",
                                Long.class)
                        == 0);
        List<String> states = jdbc.queryForList(
                "SELECT state FROM operation WHERE kind = 'recovery' ORDER BY created_at OFFSET ?",
                String.class,
                recoveriesBefore);
        assertThat(states).as("a recovery operation per moved membership").containsExactly("succeeded", "succeeded");

        List<ReplicaSet> after = sets.of(family);
        for (ReplicaSet set : after) {
            assertThat(memberIds(set)).as("column " + set.column()).hasSize(3).doesNotContain("node1");
            assertThat(set.inSync()).as("column " + set.column()).hasSize(3);
        }
        assertThat(after.get(0).epoch()).isEqualTo(before.get(0).epoch() + 2);
        assertThat(after.get(1).epoch()).isEqualTo(before.get(1).epoch() + 2);
        assertSameOnEveryMember(after, "the image", imageLc, content);
        assertSameOnEveryMember(after, "the disk", writableLc, writableBytes);

        JsonNode listed = null;
        for (JsonNode node : ApiClient.json(admin.get("/v1/nodes")).path("items")) {
            if (node.path("nodeId").asString().equals("node1")) {
                listed = node;
            }
        }
        assertThat(listed).isNotNull();
        assertThat(listed.path("state").asString()).isEqualTo("draining");
        await(
                "node1 draining on /actuator/prometheus",
                () -> api.gauge("sprig_nodes_state", "node=\"node1\"", "state=\"draining\"") == 1);
        assertThat(api.gauge("sprig_nodes", "state=\"draining\"")).isEqualTo(1);
        assertThat(listed.path("replicaSets").asLong()).isZero();

        List<Long> familyLcs = jdbc.queryForList("SELECT lc_id FROM lc WHERE family_id = ?", Long.class, family);
        await("node1 holds none of the family's lcs", () -> {
            List<Long> held = new ArrayList<>();
            ApiClient.json(node("node1").get("/v1/lcs"))
                    .forEach(lc -> held.add(lc.path("lcId").asLong()));
            return held.stream().noneMatch(familyLcs::contains);
        });

        // no more heartbeats for it, which would register it again after its removal
        alive.remove(node("node1"));
        StorageNodeProcesses.sleep(600);
        HttpResponse<String> removed = admin.delete("/v1/nodes/node1");
        assertThat(removed.statusCode()).as(removed.body()).isEqualTo(204);
    }

    /**
     * A drained node whose member of a set is stale: it is never caught up on a draining node, so it
     * is replaced as a dead node's member is, while the node's in-sync memberships move; the node
     * ends a member of no set and removable. Node1, removed by the test before, registers again
     * (empty) and is the one node to move to.
     */
    @Test
    @Order(5)
    void aStaleMemberOnADrainedNodeIsReplacedAndTheNodeEndsRemovable() {
        ApiClient admin = new ApiClient(port, ADMIN);
        alive.add(node("node1"));
        await(
                "node1 registered again",
                () -> jdbc.queryForObject(
                                "SELECT count(*) FROM node WHERE node_id = 'node1' AND NOT draining", Long.class)
                        == 1);
        List<ReplicaSet> before = sets.of(family);
        assertThat(before)
                .allSatisfy(set -> assertThat(memberIds(set)).contains("node2").doesNotContain("node1"));
        // one transaction, so that no scan sees the stale member on a node that is not draining (a
        // catch-up) or the draining node's member still in sync (a move)
        jdbc.execute("BEGIN; "
                + "UPDATE replica_member SET state = 'stale' WHERE family_id = " + family
                + " AND column_no = 0 AND node_id = 'node2'; "
                + "UPDATE replica_set SET epoch = epoch + 1 WHERE family_id = " + family + " AND column_no = 0; "
                + "UPDATE node SET draining = true WHERE node_id = 'node2'; COMMIT");

        await("node2 a member of no set", () -> sets.membershipsOf("node2").isEmpty());
        await(
                "the recoveries finished",
                () -> jdbc.queryForObject(
                                "SELECT count(*) FROM operation WHERE kind = 'recovery' AND state = 'running'",
                                Long.class)
                        == 0);
        List<ReplicaSet> after = sets.of(family);
        for (ReplicaSet set : after) {
            assertThat(memberIds(set))
                    .as("column " + set.column())
                    .contains("node1")
                    .doesNotContain("node2");
            assertThat(set.inSync()).as("column " + set.column()).hasSize(3);
        }
        assertThat(jdbc.queryForList(
                        "SELECT r.old_node_id || '>' || r.new_node_id || ' ' || o.state FROM recovery r"
                                + " JOIN operation o USING (operation_id) WHERE r.family_id = ? AND r.column_no = 0"
                                + " ORDER BY o.created_at DESC LIMIT 1",
                        String.class,
                        family))
                .as("column 0: the stale member replaced")
                .containsExactly("node2>node1 succeeded");
        assertSameOnEveryMember(after, "the image", imageLc, content);
        assertSameOnEveryMember(after, "the disk", writableLc, writableBytes);

        alive.remove(node("node2"));
        StorageNodeProcesses.sleep(600);
        HttpResponse<String> removed = admin.delete("/v1/nodes/node2");
        assertThat(removed.statusCode()).as(removed.body()).isEqualTo(204);
    }

    /** Each PC of the lc reads {@code expected}'s bytes on every member of its column, over the node API. */
    private static void assertSameOnEveryMember(List<ReplicaSet> columns, String what, long lc, byte[] expected) {
        for (int pc = 0; pc * PC < expected.length; pc++) {
            ReplicaSet column = columns.get(pc % columns.size());
            byte[] slice = Arrays.copyOfRange(expected, pc * PC, Math.min(expected.length, (pc + 1) * PC));
            for (String nodeId : memberIds(column)) {
                byte[] stored =
                        node(nodeId).read(lc, (long) pc * PC, slice.length).body();
                assertThat(Arrays.equals(stored, slice))
                        .as("PC " + pc + " of " + what + " (lc " + lc + ") on " + nodeId)
                        .isTrue();
            }
        }
    }

    private static JsonNode member(JsonNode column, String nodeId) {
        for (JsonNode member : column.path("members")) {
            if (member.path("nodeId").asString().equals(nodeId)) {
                return member;
            }
        }
        throw new AssertionError(nodeId + " is not a member of " + column);
    }

    private static long lcOf(ApiClient api, String path) {
        return ApiClient.json(api.get(path)).path("lcId").asLong();
    }

    private static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 40 s: " + what);
            }
            StorageNodeProcesses.sleep(100);
        }
    }

    private static NodeProcess node(String id) {
        return nodes.nodes.stream().filter(n -> n.id.equals(id)).findFirst().orElseThrow();
    }

    private static List<String> memberIds(ReplicaSet set) {
        return set.members().stream().map(Member::nodeId).toList();
    }

    /** rebuildingReplicaSets of the node, from GET /v1/nodes. */
    private static long rebuildingOn(ApiClient admin, String nodeId) {
        for (JsonNode node : ApiClient.json(admin.get("/v1/nodes")).path("items")) {
            if (node.path("nodeId").asString().equals(nodeId)) {
                return node.path("rebuildingReplicaSets").asLong(-1);
            }
        }
        throw new AssertionError("no node " + nodeId + " in GET /v1/nodes");
    }
}
