package dev.sprig.api.node;

import java.time.Duration;
import java.time.Instant;

/**
 * A registered storage node, as the registry holds it.
 *
 * @param silence how long since its last heartbeat, measured by the database that recorded the
 *     heartbeat, so that a clock difference between api-server and PostgreSQL cannot skew it
 */
public record Node(
        String nodeId,
        String httpEndpoint,
        String nbdHost,
        int nbdPort,
        String token,
        long capacityBytes,
        long usedBytes,
        boolean draining,
        Instant registeredAt,
        Instant lastHeartbeatAt,
        Duration silence) {

    /** What the heartbeat's age and the operator say; only {@code UP} nodes get new families. */
    public enum State {
        UP,
        UNREACHABLE,
        DOWN,
        DRAINING
    }

    public State state(Duration unreachableAfter, Duration downAfter) {
        if (silence.compareTo(downAfter) > 0) {
            return State.DOWN;
        }
        if (silence.compareTo(unreachableAfter) > 0) {
            return State.UNREACHABLE;
        }
        return draining ? State.DRAINING : State.UP;
    }

    public long freeBytes() {
        return Math.max(0, capacityBytes - usedBytes);
    }
}
