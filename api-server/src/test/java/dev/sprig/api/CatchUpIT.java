package dev.sprig.api;

import static dev.sprig.api.ImageAndDiskApiIT.imageContent;
import static dev.sprig.api.ImageAndDiskApiIT.unique;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.api.StorageNodeProcesses.NodeProcess;
import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.placement.ReplicaSet;
import dev.sprig.api.placement.ReplicaSet.Member;
import dev.sprig.api.placement.ReplicaSets;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * Catch-up of a returning member (decision 012) on three real storage-node processes, three
 * replicas per column: a member node killed with SIGKILL is dropped to stale by the first write
 * that fails on it; while it is away the disk takes more writes (partial and across segments) and
 * a snapshot (so its lc is frozen, and a new writable lc made, elsewhere); the node comes back well
 * within {@code down-after}, and each of its columns is caught up by a recovery operation (taking
 * live writes meanwhile, into a segment it holds an old version of among others): it is in
 * sync again on the same node, every member reads the same bytes, and the bytes copied are about the
 * segments written while it was away, not the disk.
 */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "sprig.api.api-keys=" + CatchUpIT.KEY,
            "sprig.api.admin-keys=" + CatchUpIT.ADMIN,
            "sprig.api.backend.type=nodes",
            "sprig.api.backend.nodes.replicas=3",
            "sprig.api.backend.nodes.min-in-sync=2",
            "sprig.api.backend.nodes.call-timeout=3s",
            "sprig.api.nodes.unreachable-after=3s",
            // long enough that the node is back before anything would replace it
            "sprig.api.nodes.down-after=10m",
            "sprig.api.reconcile-interval=10m",
            "sprig.api.recovery.scan-interval=300ms",
            // about a second per segment copied: the catch-up of column 1 (four segments) takes live writes
            "sprig.api.recovery.bytes-per-second=256KB",
            "sprig.api.recovery.concurrent-copies=1",
            // no periodic scrub; a difference between members counts if it lasts this long
            "sprig.api.scrub.interval=0s",
            "sprig.api.scrub.settle=1s",
            "resilience4j.circuitbreaker.configs.storage-node.wait-duration-in-open-state=1s"
        })
class CatchUpIT {

    static final String KEY = "catchup-key-0123456789";
    static final String ADMIN = "catchup-admin-0123456789";
    static final int KIB = 1024;
    static final int MIB = 1 << 20;
    static final int PC = 4 * MIB;
    static final int SEGMENT = 256 * KIB;

    static StorageNodeProcesses nodes;

    /** The nodes the test sends heartbeats for, every 400 ms. */
    static final List<NodeProcess> alive = new java.util.concurrent.CopyOnWriteArrayList<>();

    static final ScheduledExecutorService heartbeats = Executors.newSingleThreadScheduledExecutor();

    @DynamicPropertySource
    static void dataDirs(DynamicPropertyRegistry registry) {
        TestDataDirs.isolate(registry, "catchup");
    }

    @BeforeAll
    static void threeStorageNodes() {
        nodes = new StorageNodeProcesses(3, TestDataDirs.fresh("catchup-processes"));
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

    static final java.util.concurrent.atomic.AtomicBoolean beating = new java.util.concurrent.atomic.AtomicBoolean();

    @org.junit.jupiter.api.BeforeEach
    void heartbeatsOfTheNodesAlive() {
        if (beating.compareAndSet(false, true)) {
            ApiClient admin = new ApiClient(port, ADMIN);
            alive.addAll(nodes.nodes);
            heartbeats.scheduleWithFixedDelay(
                    () -> alive.forEach(node -> admin.registerNode(node.id, node.registration())),
                    0,
                    400,
                    TimeUnit.MILLISECONDS);
        }
        await("the three nodes registered", () -> jdbc.queryForObject("SELECT count(*) FROM node", Long.class) == 3);
    }

    @Test
    void aMemberThatComesBackCopiesOnlyWhatItMissedAndIsInSyncAgainOnTheSameNode() {
        ApiClient api = new ApiClient(port, KEY);

        // an image of three PCs (one per column) and a disk with 2 MiB of its own, everywhere
        byte[] content = imageContent(3 * PC);
        String image = api.availableImage(content);
        long imageLc =
                ApiClient.json(api.get("/v1/images/" + image)).path("lcId").asLong();
        JsonNode disk = api.clone(image);
        long diskLc = disk.path("lcId").asLong();
        byte[] expected = content.clone();
        write(diskLc, expected, PC - MIB, random(2 * MIB, 1));
        backend.flush(diskLc);
        // a second disk of the same family, which stays writable: segments 17 and 21 its own
        JsonNode other = api.clone(image);
        long otherLc = other.path("lcId").asLong();
        byte[] otherBytes = content.clone();
        write(otherLc, otherBytes, PC + SEGMENT, random(SEGMENT, 7));
        write(otherLc, otherBytes, PC + 5L * SEGMENT, random(SEGMENT, 8));
        backend.flush(otherLc);
        long family = jdbc.queryForObject("SELECT family_id FROM lc WHERE lc_id = ?", Long.class, diskLc);
        for (ReplicaSet set : sets.of(family)) {
            assertThat(set.inSync()).hasSize(3);
        }

        NodeProcess away = nodes.node(2);
        alive.remove(away);
        away.kill();

        // while it is away: the first write fails on it and drops it (stale in every column)
        Set<Long> touched = new TreeSet<>();
        byte[] beforeSnapshot = expected.clone();
        write(diskLc, beforeSnapshot, 100 * KIB, random(4 * KIB, 2)); // PC 0, segment 0, in part
        touched.add(0L);
        write(diskLc, beforeSnapshot, PC + 5L * SEGMENT - 8 * KIB, random(300 * KIB, 3)); // PC 1: 5, 6 in part
        touched.addAll(List.of(16L + 4, 16L + 5, 16L + 6));
        backend.flush(diskLc);
        // node2 keeps its old version of segment 21 of the other disk
        write(otherLc, otherBytes, PC + 5L * SEGMENT + 100 * KIB, random(4 * KIB, 9));
        backend.flush(otherLc);
        touched.add(1000 + 21L);
        for (ReplicaSet set : sets.of(family)) {
            assertThat(member(set, "node2").state())
                    .as("column " + set.column())
                    .isEqualTo(ReplicaSet.State.STALE);
        }
        // a snapshot: the disk's lc is frozen and the disk writes to a new lc, which node2 never had
        HttpResponse<String> snapshot =
                api.post("/v1/disks/" + ApiClient.id(disk) + "/snapshots", "{\"name\":\"" + unique("s") + "\"}");
        assertThat(snapshot.statusCode()).as(snapshot.body()).isEqualTo(201);
        long snapshotLc = ApiClient.json(snapshot).path("lcId").asLong();
        long childLc = ApiClient.json(api.get("/v1/disks/" + ApiClient.id(disk)))
                .path("lcId")
                .asLong();
        assertThat(childLc).isNotEqualTo(diskLc);
        byte[] afterSnapshot = beforeSnapshot.clone();
        write(childLc, afterSnapshot, 2L * PC + 3L * SEGMENT + 4 * KIB, random(8 * KIB, 4)); // PC 2, segment 3
        backend.flush(childLc);
        long writtenAway = 4 * KIB + 300 * KIB + 4 * KIB + 8 * KIB;
        // segments: 0 and 20-22 of the lc the snapshot froze, 21 of the other disk, 35 of the disk's new one
        long segmentsAway = touched.size() + 1;

        away.start();
        away.awaitUp();
        alive.add(away);
        long restartedAt = System.nanoTime();

        // live writes while column 1 is caught up, both partial, into the other disk: into segment 21,
        // which node2 holds an old version of (never to be merged with it), and into 17, which it
        // holds as the others do
        await("node2 rebuilding in column 1", () -> sets.of(family).get(1).hasRebuilding("node2"));
        write(otherLc, otherBytes, PC + 5L * SEGMENT + 40 * KIB, random(4 * KIB, 10));
        write(otherLc, otherBytes, PC + SEGMENT + 200 * KIB, random(8 * KIB, 11));
        backend.flush(otherLc);
        // and a snapshot of it: frozen on node2 too (its suspect segments then replaced in a frozen lc),
        // the other disk's new lc defined there by the control path, and written
        HttpResponse<String> otherSnapshot =
                api.post("/v1/disks/" + ApiClient.id(other) + "/snapshots", "{\"name\":\"" + unique("s") + "\"}");
        assertThat(otherSnapshot.statusCode()).as(otherSnapshot.body()).isEqualTo(201);
        long otherSnapshotLc = ApiClient.json(otherSnapshot).path("lcId").asLong();
        long otherChildLc = ApiClient.json(api.get("/v1/disks/" + ApiClient.id(other)))
                .path("lcId")
                .asLong();
        byte[] otherChildBytes = otherBytes.clone();
        write(otherChildLc, otherChildBytes, PC + 5L * SEGMENT + 160 * KIB, random(4 * KIB, 12));
        backend.flush(otherChildLc);

        await(
                "node2 in sync again in every column",
                () -> sets.of(family).stream().allMatch(set -> set.inSync().size() == 3 && set.hasInSync("node2")));
        assertThat(Duration.ofNanos(System.nanoTime() - restartedAt))
                .as("caught up, not replaced after down-after")
                .isLessThan(Duration.ofMinutes(2));
        List<ReplicaSet> after = sets.of(family);
        for (ReplicaSet set : after) {
            assertThat(set.members()).extracting(Member::nodeId).containsExactlyInAnyOrder("node1", "node2", "node3");
        }

        List<String> recoveries = jdbc.queryForList(
                "SELECT operation_id FROM recovery WHERE family_id = ? AND catch_up ORDER BY column_no",
                String.class,
                family);
        assertThat(recoveries).as("a catch-up per column").hasSize(3);
        List<Long> overlapping = jdbc.queryForList("""
                SELECT count(*) FROM operation a JOIN operation b ON a.operation_id < b.operation_id
                WHERE a.kind = 'recovery' AND b.kind = 'recovery'
                    AND a.created_at < b.finished_at AND b.created_at < a.finished_at""", Long.class);
        assertThat(overlapping).as("one catch-up of the node at a time").containsExactly(0L);
        long copied = 0;
        for (String id : recoveries) {
            JsonNode finished = api.awaitFinished(id);
            assertThat(finished.path("state").asString())
                    .as(finished.toString())
                    .isEqualTo("succeeded");
            assertThat(finished.path("kind").asString()).isEqualTo("recovery");
            assertThat(finished.path("done").asLong())
                    .isEqualTo(finished.path("total").asLong());
            copied += finished.path("done").asLong();
        }
        assertThat(jdbc.queryForObject(
                        "SELECT count(*) FROM operation WHERE kind = 'recovery' AND state <> 'succeeded'", Long.class))
                .as("no recovery failed or replaced anything")
                .isZero();
        // at least the segments no live write reached during the catch-up (the other disk's segment 21
        // may have been replaced by the live write into it, before the fill got there); at most twice
        // what was written while away, rounded to segments: not the disk
        assertThat(copied)
                .as("bytes copied (%d written while away, in %d segments)", writtenAway, segmentsAway)
                .isGreaterThanOrEqualTo((segmentsAway - 1) * SEGMENT)
                .isLessThanOrEqualTo(2 * segmentsAway * SEGMENT);

        assertSameOnEveryMember(after, "the image", imageLc, content);
        assertSameOnEveryMember(after, "the snapshot", snapshotLc, beforeSnapshot);
        assertSameOnEveryMember(after, "the disk", childLc, afterSnapshot);
        assertSameOnEveryMember(after, "the other disk's snapshot", otherSnapshotLc, otherBytes);
        assertSameOnEveryMember(after, "the other disk", otherChildLc, otherChildBytes);
        assertThat(ApiClient.json(api.get("/v1/disks/" + ApiClient.id(disk) + "/attachment"))
                        .path("redundancy")
                        .asString())
                .isEqualTo("healthy");
        // the catch-up state is gone from the node once it is in sync
        for (long lc : List.of(imageLc, diskLc, snapshotLc, childLc, otherLc, otherSnapshotLc, otherChildLc)) {
            await(
                    "no rebuild source left on node2 for lc " + lc,
                    () -> away.get("/v1/lcs/" + lc + "/rebuildSource").statusCode() == 404);
        }
    }

    /**
     * A replica scrub (issue 20): a bit flipped on disk in one member's copy of the image, which its
     * reads refuse (CRC), and a write that reached only one member of the disk (done here behind
     * api-server's back) are both found and repaired from a good member; every member then reads the
     * same, right, bytes, and the repairs are counted.
     */
    @Test
    void aReplicaScrubRepairsACopyThatRottedOnDiskAndOneThatDiffersFromItsSet() throws Exception {
        ApiClient api = new ApiClient(port, KEY);
        ApiClient admin = api.withKey(ADMIN);
        byte[] content = imageContent(3 * PC);
        String image = api.availableImage(content);
        long imageLc =
                ApiClient.json(api.get("/v1/images/" + image)).path("lcId").asLong();
        long diskLc = api.clone(image).path("lcId").asLong();
        byte[] expected = content.clone();
        write(diskLc, expected, PC + 2L * SEGMENT, random(SEGMENT, 20)); // PC 1: column 1, segment 18
        backend.flush(diskLc);
        long family = jdbc.queryForObject("SELECT family_id FROM lc WHERE lc_id = ?", Long.class, diskLc);
        List<ReplicaSet> columns = sets.of(family);
        assertThat(columns).allSatisfy(set -> assertThat(set.inSync()).hasSize(3));
        double damagedBefore = api.gauge("sprig_replica_repairs", "outcome=\"repaired\"", "reason=\"damaged\"");
        double differedBefore = api.gauge("sprig_replica_repairs", "outcome=\"repaired\"", "reason=\"differed\"");

        // a bit flips in segment 1 of PC 0 of the image (data: each MiB's first half) on column 0's first member
        NodeProcess rotten = node(columns.get(0).inSync().get(0).nodeId());
        long at = SEGMENT + 4096 * 7 + 100;
        try (var file = java.nio.channels.FileChannel.open(
                rotten.dataDir.resolve("lc-" + imageLc + ".data"),
                java.nio.file.StandardOpenOption.READ,
                java.nio.file.StandardOpenOption.WRITE)) {
            ByteBuffer one = ByteBuffer.allocate(1);
            file.read(one, at);
            one.put(0, (byte) (one.get(0) ^ 0x10)).flip();
            file.write(one, at);
        }
        assertThat(rotten.read(imageLc, SEGMENT, SEGMENT).statusCode())
                .as("a read of the rotten copy is refused, never answered wrong")
                .isEqualTo(500);
        // and a write reaches one member of column 1 only
        NodeProcess odd = node(columns.get(1).inSync().get(2).nodeId());
        byte[] stray = random(8 * KIB, 21);
        assertThat(odd.write(diskLc, PC + 2L * SEGMENT + 16 * KIB, stray).statusCode())
                .isEqualTo(204);
        assertThat(odd.post("/v1/lcs/" + diskLc + ":flush", "").statusCode()).isLessThan(300);

        HttpResponse<String> refused = api.post("/v1/replica-sets:scrub", "");
        assertThat(refused.statusCode())
                .as("an operator's decision: the admin key")
                .isEqualTo(403);
        HttpResponse<String> started = admin.post("/v1/replica-sets:scrub", "");
        assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
        JsonNode scrub = ApiClient.json(started);
        assertThat(scrub.path("kind").asString()).isEqualTo("scrub");
        assertThat(scrub.path("targetId").asString()).isEqualTo("replica-sets");
        assertThat(started.headers().firstValue("Location"))
                .hasValue("/v1/operations/" + scrub.path("id").asString());
        JsonNode finished = api.awaitFinished(scrub.path("id").asString());

        assertThat(finished.path("state").asString()).as(finished.toString()).isEqualTo("succeeded");
        assertThat(finished.path("unit").asString()).isEqualTo("sets");
        assertThat(finished.path("done").asLong())
                .isEqualTo(finished.path("total").asLong())
                .isGreaterThanOrEqualTo(3);
        assertSameOnEveryMember(sets.of(family), "the image", imageLc, content);
        assertSameOnEveryMember(sets.of(family), "the disk", diskLc, expected);
        assertThat(jdbc.queryForList(
                        "SELECT node_id || ' ' || lc_id || ' ' || segment || ' ' || reason || ' ' || outcome"
                                + " FROM replica_repair WHERE operation_id = ? ORDER BY repair_id",
                        String.class,
                        scrub.path("id").asString()))
                .containsExactlyInAnyOrder(
                        rotten.id + " " + imageLc + " 1 damaged repaired",
                        odd.id + " " + diskLc + " 18 differed repaired");
        assertThat(api.gauge("sprig_replica_repairs", "outcome=\"repaired\"", "reason=\"damaged\""))
                .isEqualTo(damagedBefore + 1);
        assertThat(api.gauge("sprig_replica_repairs", "outcome=\"repaired\"", "reason=\"differed\""))
                .isEqualTo(differedBefore + 1);
        assertThat(ApiClient.json(admin.get("/v1/nodes/" + rotten.id))
                        .path("repairedSegments")
                        .asLong())
                .isGreaterThanOrEqualTo(1);
        // a second scrub finds nothing more to repair
        JsonNode again = api.awaitFinished(ApiClient.json(admin.post("/v1/replica-sets:scrub", ""))
                .path("id")
                .asString());
        assertThat(again.path("state").asString()).isEqualTo("succeeded");
        assertThat(jdbc.queryForObject(
                        "SELECT count(*) FROM replica_repair WHERE operation_id = ?",
                        Long.class,
                        again.path("id").asString()))
                .isZero();
    }

    private void write(long lc, byte[] expected, long offset, byte[] bytes) {
        backend.write(lc, offset, ByteBuffer.wrap(bytes));
        System.arraycopy(bytes, 0, expected, (int) offset, bytes.length);
    }

    private static byte[] random(int length, long seed) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    private static Member member(ReplicaSet set, String nodeId) {
        return set.members().stream()
                .filter(member -> member.nodeId().equals(nodeId))
                .findFirst()
                .orElseThrow();
    }

    /** Each PC of the lc reads {@code expected}'s bytes on every member of its column, over the node API. */
    private static void assertSameOnEveryMember(List<ReplicaSet> columns, String what, long lc, byte[] expected) {
        for (int pc = 0; pc * PC < expected.length; pc++) {
            ReplicaSet column = columns.get(pc % columns.size());
            byte[] slice = Arrays.copyOfRange(expected, pc * PC, Math.min(expected.length, (pc + 1) * PC));
            for (Member member : column.members()) {
                byte[] stored = node(member.nodeId())
                        .read(lc, (long) pc * PC, slice.length)
                        .body();
                assertThat(Arrays.equals(stored, slice))
                        .as("PC " + pc + " of " + what + " (lc " + lc + ") on " + member.nodeId())
                        .isTrue();
            }
        }
    }

    private static void await(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 90 s: " + what);
            }
            StorageNodeProcesses.sleep(100);
        }
    }

    private static NodeProcess node(String id) {
        return nodes.nodes.stream().filter(n -> n.id.equals(id)).findFirst().orElseThrow();
    }
}
