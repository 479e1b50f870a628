package dev.sprig.api.paging;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.DateTimeException;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import java.util.function.Function;
import java.util.function.Supplier;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.jspecify.annotations.Nullable;

/**
 * Issues and checks page tokens: {@code base64url(position) "." base64url(HMAC-SHA256(position))},
 * where the position is the (created_at, extern_id) of a page's last row. The key is derived from
 * the installation's id (V1__installation.sql), which never leaves the database: every api-server
 * instance of an installation accepts the others' tokens, tokens survive restarts, and a client can
 * neither forge one nor slip a value into the keyset query through it. the repositories that page
 * (resources, operations) read the installation's id for it.
 */
public final class PageTokens {

    private static final String ALGORITHM = "HmacSHA256";
    private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder DECODER = Base64.getUrlDecoder();

    /** Where a page ends: its last row's creation time and id. */
    public record Position(Instant createdAt, String externId) {}

    private final Supplier<UUID> installation;
    private volatile @Nullable SecretKeySpec key;

    /** Tokens keyed by the installation's id, asked of {@code installation} once, when first needed. */
    public PageTokens(Supplier<UUID> installation) {
        this.installation = installation;
    }

    /** A page cut from rows fetched one past it, and the token of the page after it (null: the last). */
    public record Cut<T>(List<T> items, @Nullable String nextPageToken) {}

    /**
     * The first {@code pageSize} of {@code rows}, which a keyset query fetched with {@code pageSize
     * + 1} so that one more row says a next page exists; that page starts after the last row kept.
     */
    public <T> Cut<T> cut(List<T> rows, int pageSize, Function<T, Position> positionOf) {
        if (rows.size() <= pageSize) {
            return new Cut<>(List.copyOf(rows), null);
        }
        List<T> page = List.copyOf(rows.subList(0, pageSize));
        return new Cut<>(page, token(positionOf.apply(page.get(pageSize - 1))));
    }

    public String token(Position position) {
        String raw = position.createdAt().getEpochSecond() + "."
                + position.createdAt().getNano() + ":" + position.externId();
        String encoded = ENCODER.encodeToString(raw.getBytes(StandardCharsets.UTF_8));
        return encoded + "." + ENCODER.encodeToString(mac(encoded));
    }

    /** The position in a token this installation issued; an invalid argument for anything else. */
    public Position position(PageCursor cursor) {
        String token = cursor.token();
        int dot = token.indexOf('.');
        if (dot < 0) {
            throw PageCursor.notIssued();
        }
        String encoded = token.substring(0, dot);
        try {
            if (!MessageDigest.isEqual(mac(encoded), DECODER.decode(token.substring(dot + 1)))) {
                throw PageCursor.notIssued();
            }
            String raw = new String(DECODER.decode(encoded), StandardCharsets.UTF_8);
            int colon = raw.indexOf(':');
            int point = raw.indexOf('.');
            if (colon < 0 || point < 0 || point > colon) {
                throw PageCursor.notIssued();
            }
            return new Position(
                    Instant.ofEpochSecond(
                            Long.parseLong(raw.substring(0, point)), Long.parseLong(raw.substring(point + 1, colon))),
                    raw.substring(colon + 1));
        } catch (IllegalArgumentException | DateTimeException malformed) {
            throw PageCursor.notIssued();
        }
    }

    private byte[] mac(String encoded) {
        try {
            Mac mac = Mac.getInstance(ALGORITHM);
            mac.init(key());
            return mac.doFinal(encoded.getBytes(StandardCharsets.US_ASCII));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HMAC-SHA256 is part of every JDK", e);
        }
    }

    private SecretKeySpec key() throws GeneralSecurityException {
        SecretKeySpec known = key;
        if (known == null) {
            byte[] derived = MessageDigest.getInstance("SHA-256")
                    .digest(("sprig page tokens\0" + installation.get()).getBytes(StandardCharsets.US_ASCII));
            known = new SecretKeySpec(derived, ALGORITHM);
            key = known;
        }
        return known;
    }
}
