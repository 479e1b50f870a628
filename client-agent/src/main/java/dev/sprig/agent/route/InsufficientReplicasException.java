package dev.sprig.agent.route;

/**
 * api-server would not drop a member ({@code 503 INSUFFICIENT_REPLICAS}): the column would keep
 * fewer than min-in-sync members. Nothing changed; the agent may ask again.
 */
public final class InsufficientReplicasException extends Exception {

    public InsufficientReplicasException(String detail) {
        super(detail);
    }
}
