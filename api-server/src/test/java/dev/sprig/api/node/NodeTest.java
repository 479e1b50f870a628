package dev.sprig.api.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** A node's state follows from its last heartbeat, and draining is the operator's. */
class NodeTest {

    static final Duration UNREACHABLE = Duration.ofSeconds(15);
    static final Duration DOWN = Duration.ofSeconds(60);
    static final Instant NOW = Instant.parse("2026-11-25T12:00:00Z");

    @Test
    void aRecentHeartbeatIsUpAndSilenceMakesItUnreachableThenDown() {
        assertThat(node(NOW.minusSeconds(14), false).state(NOW, UNREACHABLE, DOWN))
                .isEqualTo(Node.State.UP);
        assertThat(node(NOW.minusSeconds(16), false).state(NOW, UNREACHABLE, DOWN))
                .isEqualTo(Node.State.UNREACHABLE);
        assertThat(node(NOW.minusSeconds(61), false).state(NOW, UNREACHABLE, DOWN))
                .isEqualTo(Node.State.DOWN);
    }

    @Test
    void aDrainingNodeThatHeartbeatsIsDrainingButSilenceStillWins() {
        assertThat(node(NOW, true).state(NOW, UNREACHABLE, DOWN)).isEqualTo(Node.State.DRAINING);
        assertThat(node(NOW.minusSeconds(61), true).state(NOW, UNREACHABLE, DOWN))
                .isEqualTo(Node.State.DOWN);
    }

    @Test
    void freeSpaceIsCapacityLessUseNeverNegative() {
        assertThat(node(NOW, false).freeBytes()).isEqualTo(600);
        assertThat(new Node("n", "http://n:1", "n", 1, "t", 100, 200, false, NOW, NOW).freeBytes())
                .isZero();
    }

    private static Node node(Instant heartbeat, boolean draining) {
        return new Node(
                "n1", "http://n1:8090", "n1", 10809, "token-0123456789abcdef", 1000, 400, draining, NOW, heartbeat);
    }
}
