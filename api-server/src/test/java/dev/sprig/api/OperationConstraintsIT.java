package dev.sprig.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** The database itself refuses operation rows that say something impossible. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.NONE)
class OperationConstraintsIT {

    static final String DISK = "disk-aaaaaaaaaaaaaaaa";

    @DynamicPropertySource
    static void dataDirs(DynamicPropertyRegistry registry) {
        TestDataDirs.isolate(registry, "operation-constraints");
    }

    @Autowired
    JdbcTemplate jdbc;

    int insert(
            String id,
            String kind,
            String target,
            String state,
            long done,
            long total,
            String error,
            String finishedAt) {
        return jdbc.update(
                "INSERT INTO operation (operation_id, kind, target_extern_id, state, done, total, error, finished_at)"
                        + " VALUES (?, ?, ?, ?, ?, ?, ?, " + finishedAt + ")",
                id,
                kind,
                target,
                state,
                done,
                total,
                error);
    }

    @Test
    void idsKindsAndTargetsHaveTheirShapes() {
        assertThatThrownBy(() -> insert("op-SHOUTING00000000", "flatten", DISK, "running", 0, 1, null, "NULL"))
                .as("an id is op- and 16 base-36 characters")
                .isInstanceOf(DataIntegrityViolationException.class);
        assertThatThrownBy(() -> insert("op-0000000000000001", "defrag", DISK, "running", 0, 1, null, "NULL"))
                .as("an unknown kind")
                .isInstanceOf(DataIntegrityViolationException.class);
        assertThatThrownBy(() ->
                        insert("op-0000000000000002", "flatten", "img-aaaaaaaaaaaaaaaa", "running", 0, 1, null, "NULL"))
                .as("only disks are flattened")
                .isInstanceOf(DataIntegrityViolationException.class);
        assertThatThrownBy(() -> insert("op-0000000000000003", "flatten", DISK, "paused", 0, 1, null, "NULL"))
                .as("an unknown state")
                .isInstanceOf(DataIntegrityViolationException.class);
    }

    @Test
    void onlyImagesAreImported() {
        assertThatThrownBy(() -> insert("op-0000000000000004", "import", DISK, "running", 0, 1, null, "NULL"))
                .isInstanceOf(DataIntegrityViolationException.class)
                .hasMessageContaining("operation_import_targets_an_image");
        assertThat(insert("op-0000000000000005", "import", "img-aaaaaaaaaaaaaaaa", "running", 0, 0, null, "NULL"))
                .isEqualTo(1);
    }

    @Test
    void aRecoveryTargetsAReplicaSetAndOnlyARecoveryDoes() {
        assertThat(insert("op-0000000000000006", "recovery", "rs-7-2", "running", 0, 0, null, "NULL"))
                .isEqualTo(1);
        assertThatThrownBy(() -> insert("op-0000000000000007", "recovery", DISK, "running", 0, 0, null, "NULL"))
                .as("a recovery of a disk")
                .isInstanceOf(DataIntegrityViolationException.class)
                .hasMessageContaining("operation_recovery_targets_a_set");
        assertThatThrownBy(() -> insert("op-0000000000000008", "flatten", "rs-7-1", "running", 0, 0, null, "NULL"))
                .as("a flatten of a replica set")
                .isInstanceOf(DataIntegrityViolationException.class);
        assertThatThrownBy(() -> insert("op-0000000000000009", "recovery", "rs-7-x", "running", 0, 0, null, "NULL"))
                .as("a set named otherwise than rs-<family>-<column>")
                .isInstanceOf(DataIntegrityViolationException.class);
    }

    @Test
    void aReplicaMemberIsInSyncStaleOrRebuilding() {
        jdbc.update("INSERT INTO node (node_id, http_endpoint, nbd_host, nbd_port, token, capacity_bytes, used_bytes)"
                + " VALUES ('constraints-node', 'http://127.0.0.1:1', '127.0.0.1', 1, 'token-0123456789abcdef', 1, 0)");
        jdbc.update("INSERT INTO replica_set (family_id, column_no) VALUES (424242, 0)");
        String member = "INSERT INTO replica_member (family_id, column_no, node_id, position, state)"
                + " VALUES (424242, 0, 'constraints-node', 0, ?)";
        assertThat(jdbc.update(member, "rebuilding")).isEqualTo(1);
        jdbc.update("DELETE FROM replica_member WHERE family_id = 424242");
        assertThatThrownBy(() -> jdbc.update(member, "catching_up"))
                .isInstanceOf(DataIntegrityViolationException.class)
                .hasMessageContaining("replica_member_state");
    }

    @Test
    void anImageSizeIsUnknownOnlyWhileItImportsOrAfterItsImportFailed() {
        String insert = "INSERT INTO resource (extern_id, kind, name, size_bytes, state) VALUES (?, ?, ?, NULL, ?)";
        assertThat(jdbc.update(insert, "img-cccccccccccccccc", "image", "importing", "importing"))
                .isEqualTo(1);
        assertThat(jdbc.update(insert, "img-dddddddddddddddd", "image", "failed-import", "error"))
                .isEqualTo(1);
        assertThatThrownBy(() -> jdbc.update(insert, "img-eeeeeeeeeeeeeeee", "image", "queued", "queued"))
                .isInstanceOf(DataIntegrityViolationException.class)
                .hasMessageContaining("resource_size_known_unless_importing");
        assertThatThrownBy(() -> jdbc.update(insert, "disk-eeeeeeeeeeeeeeee", "disk", "disk", "error"))
                .isInstanceOf(DataIntegrityViolationException.class)
                .hasMessageContaining("resource_size_known_unless_importing");
        assertThatThrownBy(() -> jdbc.update(
                        "INSERT INTO image_source (extern_id, url, format, sha256) VALUES (?, 'http://x/i', 'raw', ?)",
                        "img-cccccccccccccccc",
                        "ABC"))
                .as("a sha256 is 64 lowercase hex digits")
                .isInstanceOf(DataIntegrityViolationException.class);
        assertThatThrownBy(() -> jdbc.update(
                        "INSERT INTO image_source (extern_id, url, format) VALUES (?, 'http://x/i', 'vmdk')",
                        "img-cccccccccccccccc"))
                .isInstanceOf(DataIntegrityViolationException.class);
    }

    @Test
    void progressStaysBetweenZeroAndTotal() {
        assertThatThrownBy(() -> insert("op-0000000000000010", "flatten", DISK, "running", 3, 2, null, "NULL"))
                .isInstanceOf(DataIntegrityViolationException.class)
                .hasMessageContaining("operation_done_within_total");
        assertThatThrownBy(() -> insert("op-0000000000000011", "flatten", DISK, "running", -1, 2, null, "NULL"))
                .isInstanceOf(DataIntegrityViolationException.class);
        assertThatThrownBy(() -> insert("op-0000000000000012", "flatten", DISK, "succeeded", 1, 2, null, "now()"))
                .as("a succeeded operation did all its work")
                .isInstanceOf(DataIntegrityViolationException.class)
                .hasMessageContaining("operation_succeeded_is_complete");
    }

    @Test
    void aFailedOperationSaysWhyAndOnlyAFinishedOneHasAnEnd() {
        assertThatThrownBy(() -> insert("op-0000000000000020", "flatten", DISK, "failed", 0, 2, null, "now()"))
                .isInstanceOf(DataIntegrityViolationException.class)
                .hasMessageContaining("operation_failed_says_why");
        assertThatThrownBy(() -> insert("op-0000000000000021", "flatten", DISK, "running", 0, 2, "oops", "NULL"))
                .as("only a failed operation has an error")
                .isInstanceOf(DataIntegrityViolationException.class);
        assertThatThrownBy(() -> insert("op-0000000000000022", "flatten", DISK, "running", 0, 2, null, "now()"))
                .isInstanceOf(DataIntegrityViolationException.class)
                .hasMessageContaining("operation_finished_when_not_running");
        assertThatThrownBy(() -> insert("op-0000000000000023", "flatten", DISK, "succeeded", 2, 2, null, "NULL"))
                .isInstanceOf(DataIntegrityViolationException.class)
                .hasMessageContaining("operation_finished_when_not_running");
        assertThat(insert("op-0000000000000024", "flatten", DISK, "failed", 1, 2, "node gone", "now()"))
                .isEqualTo(1);
    }

    @Test
    void oneOperationRunsOnAResourceAtATime() {
        String disk = "disk-bbbbbbbbbbbbbbbb";
        assertThat(insert("op-0000000000000030", "flatten", disk, "succeeded", 2, 2, null, "now()"))
                .isEqualTo(1);
        assertThat(insert("op-0000000000000031", "flatten", disk, "running", 0, 2, null, "NULL"))
                .isEqualTo(1);
        assertThatThrownBy(() -> insert("op-0000000000000032", "flatten", disk, "running", 0, 2, null, "NULL"))
                .isInstanceOf(DataIntegrityViolationException.class)
                .hasMessageContaining("operation_one_running_per_target");
    }
}
