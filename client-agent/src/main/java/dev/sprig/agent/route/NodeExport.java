package dev.sprig.agent.route;

import java.net.URI;

/**
 * One storage node's NBD export of an lc: where to connect and the name ({@code <dataToken>/<lcId>})
 * to open. The token is checked when a connection opens, so a fresh one (a refreshed attachment)
 * matters for new connections only.
 */
public record NodeExport(String host, int port, String name) {

    /** From the {@code nbd://host:port/dataToken/lcId} URI an attachment gives for each node. */
    static NodeExport of(String nbdUri) {
        URI uri = URI.create(nbdUri);
        if (!"nbd".equals(uri.getScheme()) || uri.getHost() == null || uri.getRawPath() == null) {
            throw new IllegalArgumentException("not an NBD URI");
        }
        return new NodeExport(
                uri.getHost(),
                uri.getPort() < 0 ? 10809 : uri.getPort(),
                uri.getPath().substring(1));
    }

    /** Without the token: what goes into logs and error messages. */
    @Override
    public String toString() {
        int slash = name.lastIndexOf('/');
        return host + ":" + port + "/…" + (slash < 0 ? "" : name.substring(slash));
    }
}
