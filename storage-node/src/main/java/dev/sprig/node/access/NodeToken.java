package dev.sprig.node.access;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's control credential: the bearer token its HTTP API requires on every endpoint but
 * health, held by api-server alone (a node hands it over when it registers). Clients never get it:
 * they get data tokens, which api-server signs with a key derived from it
 * ({@link dev.sprig.node.access.DataTokens}).
 */
public final class NodeToken {

    private static final Logger log = LoggerFactory.getLogger(NodeToken.class);

    private final byte[] value;

    private NodeToken(String value) {
        this.value = value.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The configured token, or a random one so that a node never starts open. The random one is
     * not logged (tokens never go to logs): api-server learns it when the node registers.
     */
    public static NodeToken configuredOrGenerated(@Nullable String configured) {
        if (configured != null && !configured.isBlank()) {
            return new NodeToken(configured);
        }
        byte[] random = new byte[32];
        new SecureRandom().nextBytes(random);
        String generated = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
        log.warn("No sprig.node.token configured; this run uses a random token, which only api-server learns"
                + " (when the node registers)");
        return new NodeToken(generated);
    }

    /** The token itself: for registering with api-server, and for deriving the data-token key. */
    public String value() {
        return new String(value, StandardCharsets.UTF_8);
    }

    /** Constant-time, so that response timing does not reveal how much of a guess was right. */
    public boolean matches(String presented) {
        return MessageDigest.isEqual(value, presented.getBytes(StandardCharsets.UTF_8));
    }
}
