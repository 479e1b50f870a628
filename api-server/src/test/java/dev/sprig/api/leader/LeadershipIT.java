package dev.sprig.api.leader;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import dev.sprig.api.TestPostgres;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The leader election on a real PostgreSQL server: instances over separate pools on one schema, as
 * api-server processes sharing a database have them. Exactly one leads per schema, and when the
 * leader goes (closed, or its connection killed by the server) another takes over within 10 s.
 */
class LeadershipIT {

    static final Duration CHECK = Duration.ofMillis(200);
    static final Duration TAKEOVER = Duration.ofSeconds(10);

    final TestPostgres.Server server = TestPostgres.server();
    final List<String> schemas = new ArrayList<>();
    final List<HikariDataSource> pools = new ArrayList<>();
    final List<Leadership> instances = new ArrayList<>();
    String schema;

    @BeforeEach
    void freshSchema() {
        schema = schema();
    }

    @AfterEach
    void closeAll() {
        instances.forEach(Leadership::close);
        pools.forEach(HikariDataSource::close);
        schemas.forEach(server::dropSchema);
    }

    @Test
    void exactlyOneOfTwoInstancesOnOneSchemaLeads() {
        Leadership first = started(schema);
        Leadership second = started(schema);

        // through a few ticks of both, not only at their end
        holdsThroughout(() -> first.leads() && !second.leads(), "the first to try leads, the second does not");
    }

    @Test
    void anInstanceOnAnotherSchemaLeadsItsOwn() {
        Leadership first = started(schema);
        Leadership second = started(schema);
        Leadership elsewhere = started(schema());

        assertThat(elsewhere.leads()).isTrue();
        assertThat(List.of(first.leads(), second.leads())).containsExactlyInAnyOrder(true, false);
    }

    @Test
    void aLoneInstanceLeadsAsSoonAsItHasStarted() {
        assertThat(started(schema).leads()).isTrue();
    }

    @Test
    void whenTheLeaderClosesTheOtherLeadsWithinTenSecondsAndIsTold() {
        Leadership leader = started(schema);
        Leadership other = started(schema);
        AtomicInteger told = new AtomicInteger();
        other.onGained(told::incrementAndGet);

        leader.close();

        await(other::leads, "the other instance leads");
        assertThat(told).hasValue(1);
        assertThat(leader.leads()).isFalse();
    }

    @Test
    void whenTheLeadersConnectionIsKilledTheOtherLeadsAndTheOldLeaderStopsLeading() throws Exception {
        Leadership leader = started(schema);
        Leadership other = started(schema);

        try (Connection admin = server.connect()) {
            assertThat(terminate(admin, holderOfLock(admin, schema))).isTrue();
        }

        await(other::leads, "the other instance leads");
        await(() -> !leader.leads(), "the old leader notices it lost the lock");
        holdsThroughout(
                () -> !leader.leads() && other.leads(), "the old leader does not take the lock back at its next tries");
    }

    @Test
    void aLeaderWhoseConnectionWasKilledLeadsAgainOnAFreshOneWhenAlone() throws Exception {
        Leadership alone = started(schema);

        try (Connection admin = server.connect()) {
            terminate(admin, holderOfLock(admin, schema));
        }

        // lost at its next check, taken again on a new connection in the same tick
        await(() -> alone.leads() && holder(schema) != null, "leads again");
    }

    private Leadership started(String inSchema) {
        HikariDataSource pool = server.dataSource(inSchema, 2);
        pools.add(pool);
        Leadership leadership = new Leadership(pool, CHECK);
        instances.add(leadership);
        leadership.start();
        return leadership;
    }

    private String schema() {
        String fresh = server.freshSchema("it_leadership");
        schemas.add(fresh);
        return fresh;
    }

    private Integer holder(String ofSchema) {
        try (Connection admin = server.connect()) {
            return holderOfLock(admin, ofSchema);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The backend that holds the leader lock of a schema, or null. */
    private static Integer holderOfLock(Connection admin, String ofSchema) throws SQLException {
        try (PreparedStatement query = admin.prepareStatement("SELECT pid FROM pg_locks WHERE locktype = 'advisory'"
                + " AND granted AND objsubid = 2 AND classid = ?::bigint::oid"
                + " AND objid = (hashtext(?)::bigint & 4294967295)::oid")) {
            query.setInt(1, Leadership.LOCK);
            query.setString(2, ofSchema);
            try (ResultSet result = query.executeQuery()) {
                return result.next() ? result.getInt(1) : null;
            }
        }
    }

    private static boolean terminate(Connection admin, Integer pid) throws SQLException {
        assertThat(pid).as("a backend holds the leader lock").isNotNull();
        try (PreparedStatement kill = admin.prepareStatement("SELECT pg_terminate_backend(?)")) {
            kill.setInt(1, pid);
            try (ResultSet result = kill.executeQuery()) {
                return result.next() && result.getBoolean(1);
            }
        }
    }

    private static void await(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + TAKEOVER.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as(what + " within " + TAKEOVER).isLessThan(deadline);
            pause();
        }
    }

    /**
     * Checks {@code condition} every few milliseconds for three check intervals (a few ticks of every
     * instance) and fails at the first check where it does not hold: a sleep followed by one check
     * would miss a leadership lost and regained in between.
     */
    private static void holdsThroughout(BooleanSupplier condition, String what) {
        Duration period = CHECK.multipliedBy(3);
        long deadline = System.nanoTime() + period.toNanos();
        do {
            assertThat(condition.getAsBoolean())
                    .as(what + " throughout " + period)
                    .isTrue();
            pause();
        } while (System.nanoTime() < deadline);
        assertThat(condition.getAsBoolean()).as(what + " throughout " + period).isTrue();
    }

    private static void pause() {
        try {
            Thread.sleep(20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
