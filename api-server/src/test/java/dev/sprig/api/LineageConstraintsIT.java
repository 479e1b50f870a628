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

/** The database itself refuses lineage that would break ROW, whatever code writes to it. */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.NONE)
class LineageConstraintsIT {

    @DynamicPropertySource
    static void dataDirs(DynamicPropertyRegistry registry) {
        TestDataDirs.isolate(registry, "lineage-constraints");
    }

    @Autowired
    JdbcTemplate jdbc;

    long lc(Long parent, long size, boolean frozen) {
        long id = jdbc.queryForObject("SELECT nextval('lc_id_seq')", Long.class);
        jdbc.update(
                "INSERT INTO lc (lc_id, parent_lc_id, family_id, size_bytes, frozen) VALUES (?, ?, ?, ?, ?)",
                id,
                parent,
                parent == null ? id : parent,
                size,
                frozen);
        return id;
    }

    @Test
    void aChildOfAWritableLcIsRefused() {
        long writable = lc(null, 4096, false);
        assertThatThrownBy(() -> lc(writable, 4096, false))
                .isInstanceOf(DataIntegrityViolationException.class)
                .hasMessageContaining("is not frozen");
    }

    @Test
    void aFrozenLcCannotBeUnfrozenNorGetASmallerChild() {
        long image = lc(null, 8192, true);
        assertThatThrownBy(() -> jdbc.update("UPDATE lc SET frozen = FALSE WHERE lc_id = ?", image))
                .isInstanceOf(DataIntegrityViolationException.class)
                .hasMessageContaining("cannot be unfrozen");
        assertThatThrownBy(() -> lc(image, 4096, false))
                .isInstanceOf(DataIntegrityViolationException.class)
                .hasMessageContaining("smaller than its parent");
        assertThat(lc(image, 8192, false)).isPositive();
    }

    @Test
    void resourcesKeepKindSpecificStatesPrefixesAndOneLcEach() {
        long lc = lc(null, 4096, true);
        assertThatThrownBy(() -> jdbc.update("INSERT INTO resource (extern_id, kind, name, size_bytes, state) VALUES"
                        + " ('img-aaaaaaaaaaaaaaaa', 'image', 'a', 4096, 'flattening')"))
                .as("flattening is a disk state, not an image state")
                .isInstanceOf(DataIntegrityViolationException.class);
        assertThatThrownBy(() -> jdbc.update("INSERT INTO resource (extern_id, kind, name, size_bytes, state) VALUES"
                        + " ('disk-aaaaaaaaaaaaaaaa', 'image', 'a', 4096, 'queued')"))
                .as("an image's extern_id starts with img-")
                .isInstanceOf(DataIntegrityViolationException.class);
        assertThatThrownBy(() -> jdbc.update("INSERT INTO resource (extern_id, kind, name, size_bytes, state) VALUES"
                        + " ('disk-bbbbbbbbbbbbbbbb', 'disk', 'b', 4096, 'available')"))
                .as("an available disk has an lc")
                .isInstanceOf(DataIntegrityViolationException.class);
        jdbc.update("INSERT INTO resource (extern_id, kind, name, size_bytes, state) VALUES"
                + " ('img-bbbbbbbbbbbbbbbb', 'image', 'b', 4096, 'available')");
        // an available image with no lc is one whose cached copy was evicted
        jdbc.update(
                "INSERT INTO resource (extern_id, kind, name, size_bytes, state, lc_id) VALUES"
                        + " ('img-cccccccccccccccc', 'image', 'c', 4096, 'available', ?)",
                lc);
        assertThatThrownBy(() -> jdbc.update(
                        "INSERT INTO resource (extern_id, kind, name, size_bytes, state, lc_id) VALUES"
                                + " ('img-dddddddddddddddd', 'image', 'd', 4096, 'available', ?)",
                        lc))
                .as("two resources never share an lc")
                .isInstanceOf(DataIntegrityViolationException.class);
    }
}
