package dev.sprig.api.node;

/**
 * Nodes whose heartbeats are recent but that api-server's own calls found silent just now (the nodes
 * backend's circuit breakers). A node killed and started again within the heartbeat window is up by
 * its heartbeats while the calls that failed during its restart still hold its breaker open for a few
 * seconds; a family placed on it then would have a stale member from its first call.
 */
@FunctionalInterface
public interface SilentNodes {

    /** Whether calls to the node are held back now. */
    boolean silent(String nodeId);
}
