package dev.sprig.api.paging;

import dev.sprig.api.error.SprigException;
import org.jspecify.annotations.Nullable;

/**
 * A {@code pageToken} as a client handed it back: opaque until {@link PageTokens} has checked its
 * signature and read the position in it, which the repository that pages does before the
 * token's contents reach a query. A token this server did not issue is an invalid argument, never
 * a server error.
 */
public record PageCursor(String token) {

    /** Far above any token issued (an instant, an extern id and a signature), so a junk one costs nothing. */
    static final int MAX_LENGTH = 512;

    /** The cursor of a {@code pageToken} parameter; none (first page) when it is absent or empty. */
    public static @Nullable PageCursor ofParameter(@Nullable String token) {
        return token == null || token.isEmpty() ? null : of(token);
    }

    public static PageCursor of(String token) {
        if (token.length() > MAX_LENGTH) {
            throw notIssued();
        }
        return new PageCursor(token);
    }

    public static SprigException notIssued() {
        return SprigException.invalidArgument("pageToken is not a token this server issued");
    }
}
