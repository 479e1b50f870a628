package dev.sprig.api.node;

import java.time.Duration;
import java.time.Instant;

/** A registered storage node, as the registry holds it. */
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
        Instant lastHeartbeatAt) {

    /** What the heartbeat's age and the operator say; only {@code UP} nodes get new families. */
    public enum State {
        UP,
        UNREACHABLE,
        DOWN,
        DRAINING
    }

    public State state(Instant now, Duration unreachableAfter, Duration downAfter) {
        Duration silent = Duration.between(lastHeartbeatAt, now);
        if (silent.compareTo(downAfter) > 0) {
            return State.DOWN;
        }
        if (silent.compareTo(unreachableAfter) > 0) {
            return State.UNREACHABLE;
        }
        return draining ? State.DRAINING : State.UP;
    }

    public long freeBytes() {
        return Math.max(0, capacityBytes - usedBytes);
    }
}
