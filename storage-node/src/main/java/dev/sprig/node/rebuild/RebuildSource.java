package dev.sprig.node.rebuild;

/**
 * Where an lc being rebuilt here reads what it lacks: lc {@code lcId} on the node whose API is at
 * {@code endpoint} ({@code http(s)://host:port}), read with that node's {@code token}.
 */
public record RebuildSource(String endpoint, String token, long lcId) {

    /** Without the token: it is another node's credential and has no place in a log line. */
    @Override
    public String toString() {
        return "RebuildSource[endpoint=" + endpoint + ", lcId=" + lcId + "]";
    }
}
