package dev.sprig.api.lineage;

import dev.sprig.api.error.SprigException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;

/**
 * Where a keyset page ends: the (created_at, extern_id) of its last row. Opaque to clients as a
 * {@code pageToken}; a token that does not decode is an invalid argument, never a server error.
 */
public record PageCursor(Instant createdAt, String externId) {

    public String token() {
        String raw = createdAt.getEpochSecond() + "." + createdAt.getNano() + ":" + externId;
        return Base64.getUrlEncoder().withoutPadding().encodeToString(raw.getBytes(StandardCharsets.UTF_8));
    }

    /** The cursor of a {@code pageToken} parameter; none (first page) when it is absent or empty. */
    public static @org.jspecify.annotations.Nullable PageCursor ofParameter(
            @org.jspecify.annotations.Nullable String token) {
        return token == null || token.isEmpty() ? null : of(token);
    }

    public static PageCursor of(String token) {
        try {
            String raw = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
            int colon = raw.indexOf(':');
            int dot = raw.indexOf('.');
            if (colon < 0 || dot < 0 || dot > colon) {
                throw new IllegalArgumentException("not a cursor");
            }
            Instant at = Instant.ofEpochSecond(
                    Long.parseLong(raw.substring(0, dot)), Long.parseLong(raw.substring(dot + 1, colon)));
            return new PageCursor(at, raw.substring(colon + 1));
        } catch (IllegalArgumentException | java.time.DateTimeException malformed) {
            throw SprigException.invalidArgument("pageToken is not a token this server issued");
        }
    }
}
