package dev.sprig.api.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** A node's state follows from how long it has been silent, and draining is the operator's. */
class NodeTest {

    static final Duration UNREACHABLE = Duration.ofSeconds(15);
    static final Duration DOWN = Duration.ofSeconds(60);
    static final Instant NOW = Instant.parse("2026-11-25T12:00:00Z");

    @Test
    void aRecentHeartbeatIsUpAndSilenceMakesItUnreachableThenDown() {
        assertThat(node(14, false).state(UNREACHABLE, DOWN)).isEqualTo(Node.State.UP);
        assertThat(node(16, false).state(UNREACHABLE, DOWN)).isEqualTo(Node.State.UNREACHABLE);
        assertThat(node(61, false).state(UNREACHABLE, DOWN)).isEqualTo(Node.State.DOWN);
    }

    @Test
    void aDrainingNodeThatHeartbeatsIsDrainingButSilenceStillWins() {
        assertThat(node(0, true).state(UNREACHABLE, DOWN)).isEqualTo(Node.State.DRAINING);
        assertThat(node(61, true).state(UNREACHABLE, DOWN)).isEqualTo(Node.State.DOWN);
    }

    @Test
    void freeSpaceIsCapacityLessUseNeverNegative() {
        assertThat(node(0, false).freeBytes()).isEqualTo(600);
        assertThat(new Node("n", "http://n:1", "n", 1, "t", 100, 200, false, NOW, NOW, Duration.ZERO).freeBytes())
                .isZero();
    }

    /** A node last heard from {@code silentSeconds} ago, by the database's clock. */
    private static Node node(long silentSeconds, boolean draining) {
        return new Node(
                "n1",
                "http://n1:8090",
                "n1",
                10809,
                "token-0123456789abcdef",
                1000,
                400,
                draining,
                NOW,
                NOW.minusSeconds(silentSeconds),
                Duration.ofSeconds(silentSeconds));
    }
}
