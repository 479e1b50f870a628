package dev.sprig.node.nbd;

import dev.sprig.node.access.DataGrant;
import dev.sprig.node.access.DataTokens;
import java.time.Clock;
import java.util.Optional;

/**
 * NBD has no authentication of its own, so a data token travels in the export name:
 * {@code <dataToken>/<lcId>}, e.g. {@code nbd://node:10809/AQIAAA….kF3…/42}. The token is signed
 * for one lc, with rights and an expiry ({@link DataTokens}); the name's lc id must be the token's.
 * A name with a token that is malformed, forged, expired or for another lc names no export at all,
 * so a client without a valid token learns nothing, not even which lcs exist. The node token itself
 * opens nothing here: it is api-server's control credential and never leaves it.
 */
final class ExportNames {

    private final DataTokens tokens;
    private final Clock clock;

    ExportNames(DataTokens tokens, Clock clock) {
        this.tokens = tokens;
        this.clock = clock;
    }

    /** What a name grants, or empty when the name is malformed or its token does not open its lc. */
    Optional<DataGrant> grantOf(String exportName) {
        int slash = exportName.lastIndexOf('/');
        if (slash <= 0) {
            return Optional.empty();
        }
        String id = exportName.substring(slash + 1);
        if (id.isEmpty() || id.length() > 19 || !id.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return Optional.empty();
        }
        long lcId;
        try {
            lcId = Long.parseLong(id);
        } catch (NumberFormatException tooLarge) {
            return Optional.empty();
        }
        return tokens.verify(exportName.substring(0, slash), clock.instant()).filter(grant -> grant.lcId() == lcId);
    }
}
