package dev.sprig.agent.route;

import java.net.URI;

/** One storage node's NBD export of an lc: where to connect and the name ({@code <token>/<lcId>}) to open. */
public record NodeExport(String host, int port, String name) {

    /** From the {@code nbd://host:port/token/lcId} URI an attachment gives for each node. */
    static NodeExport of(String nbdUri) {
        URI uri = URI.create(nbdUri);
        if (!"nbd".equals(uri.getScheme()) || uri.getHost() == null || uri.getRawPath() == null) {
            throw new IllegalArgumentException("not an NBD URI: " + nbdUri);
        }
        return new NodeExport(
                uri.getHost(),
                uri.getPort() < 0 ? 10809 : uri.getPort(),
                uri.getPath().substring(1));
    }
}
