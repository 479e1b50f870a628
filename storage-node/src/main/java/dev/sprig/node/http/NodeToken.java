package dev.sprig.node.http;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The bearer token a node requires on every endpoint but health. */
public final class NodeToken {

    private static final Logger log = LoggerFactory.getLogger(NodeToken.class);

    private final byte[] value;

    private NodeToken(String value) {
        this.value = value.getBytes(StandardCharsets.UTF_8);
    }

    /** The configured token, or a random one (logged once) so that a node never starts open. */
    public static NodeToken configuredOrGenerated(@Nullable String configured) {
        if (configured != null && !configured.isBlank()) {
            return new NodeToken(configured);
        }
        byte[] random = new byte[32];
        new SecureRandom().nextBytes(random);
        String generated = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
        log.warn("No sprig.node.token configured; this run requires the generated token: {}", generated);
        return new NodeToken(generated);
    }

    /** The token itself, for handing to clients that are allowed to use this node (attachments). */
    public String value() {
        return new String(value, StandardCharsets.UTF_8);
    }

    /** Constant-time, so that response timing does not reveal how much of a guess was right. */
    public boolean matches(String presented) {
        return MessageDigest.isEqual(value, presented.getBytes(StandardCharsets.UTF_8));
    }
}
