package dev.sprig.node.nbd;

import dev.sprig.node.access.DataAccess;
import dev.sprig.node.access.DataGrant;
import dev.sprig.node.access.DataTokens;
import java.time.Duration;
import java.time.Instant;

/** Export names as api-server hands them out: {@code <dataToken>/<lcId>}, signed for a node's token. */
final class ExportName {

    private ExportName() {}

    /** A read-write name valid for an hour. */
    static String of(String nodeToken, long lcId) {
        return of(nodeToken, lcId, DataAccess.READ_WRITE, Duration.ofHours(1));
    }

    static String of(String nodeToken, long lcId, DataAccess access, Duration lifetime) {
        return token(nodeToken, lcId, access, Instant.now().plus(lifetime)) + "/" + lcId;
    }

    static String token(String nodeToken, long lcId, DataAccess access, Instant expiresAt) {
        return DataTokens.forNodeToken(nodeToken).sign(new DataGrant(lcId, access, expiresAt));
    }
}
