package dev.sprig.api;

import static dev.sprig.api.ImageAndDiskApiIT.imageContent;
import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.doAnswer;

import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.lineage.Reconciler;
import dev.sprig.engine.ChunkEngine;
import dev.sprig.engine.LcInfo;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.context.bean.override.mockito.MockitoSpyBean;
import tools.jackson.databind.JsonNode;

/**
 * After a crash the database is the authority: lcs it never committed are deleted from the engine,
 * and an lc it lists that the engine lost is reported rather than recreated empty.
 */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"sprig.api.api-keys=" + ReconcilerIT.KEY, "sprig.api.reconcile-interval=10m"})
class ReconcilerIT {

    static final String KEY = "reconciler-key-0123456789";
    static final int MIB = 1 << 20;

    @DynamicPropertySource
    static void dataDirs(DynamicPropertyRegistry registry) {
        TestDataDirs.isolate(registry, "reconciler");
    }

    @LocalServerPort
    int port;

    @Autowired
    ChunkEngine engine;

    @Autowired
    Reconciler reconciler;

    @Autowired
    JdbcTemplate jdbc;

    @Autowired
    DataSource dataSource;

    /** The real backend; a test may run another instance's request around the reading of its list. */
    @MockitoSpyBean
    StorageBackend backend;

    ApiClient api;
    byte[] imageBytes;
    String imageId;

    @BeforeEach
    void anAvailableImage() {
        api = new ApiClient(port, KEY);
        imageBytes = imageContent(2 * MIB);
        imageId = api.availableImage(imageBytes);
        reconciler.reconcile();
    }

    @Test
    void anLcTheDatabaseNeverCommittedIsDeleted() {
        long imageLc =
                ApiClient.json(api.get("/v1/images/" + imageId)).path("lcId").asLong();
        // an id the database handed out to a transaction that never committed
        long orphan = jdbc.queryForObject("SELECT nextval('lc_id_seq')", Long.class);
        engine.createChild(orphan, imageLc);

        Reconciler.Report report = reconciler.reconcile();

        assertThat(report.orphansDeleted()).containsExactly(orphan);
        assertThat(engine.list()).extracting(LcInfo::lcId).doesNotContain(orphan);
        assertThat(engine.info(imageLc).children()).isZero();
    }

    @Test
    void anLcWithAnIdThisDatabaseNeverHandedOutIsLeftAlone() {
        long imageLc =
                ApiClient.json(api.get("/v1/images/" + imageId)).path("lcId").asLong();
        long foreign = jdbc.queryForObject("SELECT last_value FROM lc_id_seq", Long.class) + 1_000_000;
        engine.createChild(foreign, imageLc);

        Reconciler.Report report = reconciler.reconcile();

        assertThat(report.foreign()).containsExactly(foreign);
        assertThat(report.orphansDeleted()).isEmpty();
        assertThat(engine.info(foreign).parentLcId()).hasValue(imageLc);
        engine.delete(foreign);
    }

    @Test
    void aLostLcIsReportedAndNotRecreatedEmpty() {
        long imageLc =
                ApiClient.json(api.get("/v1/images/" + imageId)).path("lcId").asLong();
        engine.delete(imageLc);

        Reconciler.Report report = reconciler.reconcile();

        assertThat(report.missing()).containsExactly(imageLc);
        assertThat(engine.list()).extracting(LcInfo::lcId).doesNotContain(imageLc);
        // the operator's way out: delete the image whose data is gone; the next pass finds nothing
        assertThat(api.delete("/v1/images/" + imageId).statusCode()).isEqualTo(204);
        assertThat(reconciler.reconcile().missing()).isEmpty();
    }

    @Test
    void aDiskWhoseLcTheBackendFrozeInAFailedSnapshotWritesToANewChild() {
        JsonNode disk = api.clone(imageId);
        long frozenLc = disk.path("lcId").asLong();
        // what a snapshot leaves when its transaction fails after the backend froze the lc
        engine.freeze(frozenLc);

        Reconciler.Report report = reconciler.reconcile();

        assertThat(report.disksMoved()).containsExactly(ApiClient.id(disk));
        long newLc = ApiClient.json(api.get("/v1/disks/" + ApiClient.id(disk)))
                .path("lcId")
                .asLong();
        assertThat(newLc).isNotEqualTo(frozenLc);
        assertThat(engine.info(newLc).parentLcId()).hasValue(frozenLc);
        assertThat(engine.info(newLc).frozen()).isFalse();
        engine.write(newLc, 0, new byte[] {7});
        assertThat(engine.read(newLc, 0, 2)).containsExactly(7, imageBytes[1]);
        assertThat(reconciler.reconcile().disksMoved()).as("once is enough").isEmpty();
    }

    @Test
    void aBackendInStepWithTheDatabaseIsLeftAlone() {
        api.clone(imageId);

        Reconciler.Report report = reconciler.reconcile();

        assertThat(report.orphansDeleted()).isEmpty();
        assertThat(report.missing()).isEmpty();
        assertThat(report.foreign()).isEmpty();
        assertThat(report.disksMoved()).isEmpty();
    }

    @Test
    void anLcCreatedWhileAPeriodicPassRunsIsNotReportedLost() {
        AtomicReference<JsonNode> created = new AtomicReference<>();
        doAnswer(call -> {
                    Object inventory = call.callRealMethod();
                    // a clone on another instance commits just after the backend's list was read
                    created.set(api.clone(imageId));
                    return inventory;
                })
                .when(backend)
                .inventory();

        Reconciler.Report report = reconciler.periodic();

        long clonedLc = created.get().path("lcId").asLong();
        assertThat(report).isNotNull();
        assertThat(report.missing()).as("no false alarm of data lost").isEmpty();
        assertThat(report.orphansDeleted()).isEmpty();
        assertThat(engine.list()).extracting(LcInfo::lcId).contains(clonedLc);
    }

    @Test
    void anLcOfATransactionStillOpenIsNotTakenForAnOrphanHoweverManyPassesSeeIt() throws Exception {
        long imageLc =
                ApiClient.json(api.get("/v1/images/" + imageId)).path("lcId").asLong();
        long inFlight;
        try (Connection upload = dataSource.getConnection()) {
            // what an upload's first transaction does, slowly: its lc is on the backend, not committed
            upload.setAutoCommit(false);
            try (Statement statement = upload.createStatement();
                    ResultSet next = statement.executeQuery("SELECT nextval('lc_id_seq'), txid_current()")) {
                next.next();
                inFlight = next.getLong(1);
            }
            engine.createChild(inFlight, imageLc);

            for (int pass = 0; pass < 3; pass++) {
                Reconciler.Report report = reconciler.periodic();
                assertThat(report).isNotNull();
                assertThat(report.orphansDeleted()).as("pass " + pass).isEmpty();
            }
            assertThat(engine.list()).extracting(LcInfo::lcId).contains(inFlight);
            upload.rollback();
        }

        // the transaction has ended without committing it: now it is an orphan, taken by the first
        // pass that finds every transaction ended that ran when it was first seen. On a server that
        // others use too (the external-database run), a transaction of theirs may still hold that
        // back for a moment.
        assertThat(passesUntilAnOrphanIsDeleted(Duration.ofSeconds(10))).containsExactly(inFlight);
        assertThat(engine.list()).extracting(LcInfo::lcId).doesNotContain(inFlight);
    }

    /** What the first periodic pass that deletes orphans deleted; none within {@code limit}: empty. */
    private List<Long> passesUntilAnOrphanIsDeleted(Duration limit) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (true) {
            Reconciler.Report report = reconciler.periodic();
            if (report != null && !report.orphansDeleted().isEmpty()) {
                return report.orphansDeleted();
            }
            if (System.nanoTime() > deadline) {
                return List.of();
            }
            Thread.sleep(50);
        }
    }

    @Test
    void anLcDeletedWhileAPeriodicPassRunsIsNotReportedLost() {
        JsonNode disk = api.clone(imageId);
        doAnswer(call -> {
                    // deleted on another instance after the database's list was read, before the backend's
                    assertThat(api.delete("/v1/disks/" + ApiClient.id(disk)).statusCode())
                            .isEqualTo(204);
                    return call.callRealMethod();
                })
                .when(backend)
                .inventory();

        Reconciler.Report report = reconciler.periodic();

        assertThat(report).isNotNull();
        assertThat(report.missing()).as("no false alarm of data lost").isEmpty();
    }

    @Test
    void aPeriodicPassStillReportsAnLcTheBackendLost() {
        long imageLc =
                ApiClient.json(api.get("/v1/images/" + imageId)).path("lcId").asLong();
        engine.delete(imageLc);

        Reconciler.Report report = reconciler.periodic();

        assertThat(report).isNotNull();
        assertThat(report.missing()).containsExactly(imageLc);
        assertThat(api.delete("/v1/images/" + imageId).statusCode()).isEqualTo(204);
    }
}
