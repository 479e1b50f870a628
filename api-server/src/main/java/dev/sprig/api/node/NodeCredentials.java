package dev.sprig.api.node;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import org.springframework.stereotype.Service;

/**
 * The credentials storage nodes register with: one per node id, issued by an operator, shown once,
 * kept as a SHA-256 digest. A credential lets its holder register (and heartbeat) as its own node
 * id and do nothing else; issuing a new one for the id revokes the old one.
 */
@Service
public class NodeCredentials {

    private static final String PREFIX = "sprignode_";

    private final NodeRepository nodes;
    private final SecureRandom random = new SecureRandom();

    NodeCredentials(NodeRepository nodes) {
        this.nodes = nodes;
    }

    /** A fresh credential for {@code nodeId}, replacing any earlier one; the only time it is seen. */
    public String issue(String nodeId) {
        NodeIds.require(nodeId);
        byte[] secret = new byte[32];
        random.nextBytes(secret);
        String credential = PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        nodes.storeCredential(nodeId, digest(credential));
        return credential;
    }

    /** Revokes the credential of {@code nodeId}; false when it had none. */
    public boolean revoke(String nodeId) {
        return nodes.deleteCredential(nodeId);
    }

    /** Whether {@code presented} is the credential issued for {@code nodeId} (digests compared in constant time). */
    public boolean admits(String nodeId, String presented) {
        if (!presented.startsWith(PREFIX) || !NodeIds.valid(nodeId)) {
            return false;
        }
        return nodes.credentialDigest(nodeId)
                .map(stored -> MessageDigest.isEqual(stored, digest(presented)))
                .orElse(false);
    }

    private static byte[] digest(String credential) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(credential.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException impossible) {
            throw new IllegalStateException(impossible);
        }
    }
}
