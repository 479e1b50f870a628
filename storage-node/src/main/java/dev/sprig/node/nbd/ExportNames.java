package dev.sprig.node.nbd;

import dev.sprig.node.http.NodeToken;
import java.util.OptionalLong;

/**
 * NBD has no authentication of its own, so the node's token travels in the export name:
 * {@code <token>/<lcId>}, e.g. {@code nbd://node:10809/s3cret/42}. A name with a wrong token names
 * no export at all, so a client without the token learns nothing, not even which lcs exist.
 */
final class ExportNames {

    private final NodeToken token;

    ExportNames(NodeToken token) {
        this.token = token;
    }

    /** The lc a name opens, or empty when the name is malformed or the token is wrong. */
    OptionalLong lcOf(String exportName) {
        int slash = exportName.lastIndexOf('/');
        if (slash <= 0 || !token.matches(exportName.substring(0, slash))) {
            return OptionalLong.empty();
        }
        String id = exportName.substring(slash + 1);
        if (id.isEmpty() || id.length() > 19 || !id.chars().allMatch(Character::isDigit)) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(Long.parseLong(id));
    }
}
