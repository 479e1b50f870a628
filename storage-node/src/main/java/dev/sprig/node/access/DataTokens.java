package dev.sprig.node.access;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Base64;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Signs and checks data tokens, {@code <payload>.<mac>} in unpadded base64url (no '/', so that a
 * token fits in the NBD export name {@code <token>/<lcId>}). The payload is version (1), access (1),
 * lc id (8), expiry in epoch seconds (8); version 2 adds the replica set and epoch the token writes
 * through ({@link ReplicaEpoch}): family id (8), column (2), columns (2), epoch (8). The MAC is
 * HMAC-SHA256 of the payload under the node's data-token key, {@code HMAC-SHA256(node token,
 * "sprig data-token key v1")}. api-server holds every node token and so can sign for every node; a
 * node checks with its own key alone. A token signed for one node opens nothing on another, and
 * changing a node's token revokes every data token it has.
 */
public final class DataTokens {

    static final byte VERSION = 1;
    static final byte REPLICATED = 2;
    static final int PAYLOAD_BYTES = 18;
    static final int REPLICATED_PAYLOAD_BYTES = PAYLOAD_BYTES + 20;
    static final int MAC_BYTES = 32;
    private static final String ALGORITHM = "HmacSHA256";
    private static final byte[] KEY_LABEL = "sprig data-token key v1".getBytes(StandardCharsets.US_ASCII);
    private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder DECODER = Base64.getUrlDecoder();

    private final SecretKeySpec key;

    private DataTokens(byte[] key) {
        this.key = new SecretKeySpec(key, ALGORITHM);
    }

    /** The signer and checker of the node whose (control) token this is. */
    public static DataTokens forNodeToken(String nodeToken) {
        return new DataTokens(
                hmac(new SecretKeySpec(nodeToken.getBytes(StandardCharsets.UTF_8), ALGORITHM), KEY_LABEL));
    }

    public String sign(DataGrant grant) {
        ReplicaEpoch replica = grant.replica();
        ByteBuffer fields = ByteBuffer.allocate(replica == null ? PAYLOAD_BYTES : REPLICATED_PAYLOAD_BYTES)
                .put(replica == null ? VERSION : REPLICATED)
                .put((byte) grant.access().code)
                .putLong(grant.lcId())
                .putLong(grant.expiresAt().getEpochSecond());
        if (replica != null) {
            fields.putLong(replica.familyId())
                    .putShort((short) replica.column())
                    .putShort((short) replica.columns())
                    .putLong(replica.epoch());
        }
        byte[] payload = fields.array();
        return ENCODER.encodeToString(payload) + "." + ENCODER.encodeToString(hmac(key, payload));
    }

    /**
     * The grant of a token that this node's key signed and that has not expired at {@code now};
     * empty for anything else, without saying why (a caller learns nothing from a refusal).
     */
    public Optional<DataGrant> verify(String token, Instant now) {
        int dot = token.indexOf('.');
        // 18, 38 and 32 bytes are 24, 51 and 43 characters: anything longer is refused before decoding
        if ((dot != 24 && dot != 51) || token.length() != dot + 1 + 43) {
            return Optional.empty();
        }
        byte[] payload;
        byte[] mac;
        try {
            payload = DECODER.decode(token.substring(0, dot));
            mac = DECODER.decode(token.substring(dot + 1));
        } catch (IllegalArgumentException notBase64) {
            return Optional.empty();
        }
        // decoding is lenient about the unused bits of the last character: re-encoding must give the
        // same text, so that one grant has exactly one spelling
        if ((payload.length != PAYLOAD_BYTES && payload.length != REPLICATED_PAYLOAD_BYTES)
                || mac.length != MAC_BYTES
                || !ENCODER.encodeToString(payload).equals(token.substring(0, dot))
                || !ENCODER.encodeToString(mac).equals(token.substring(dot + 1))
                || !MessageDigest.isEqual(hmac(key, payload), mac)) {
            return Optional.empty();
        }
        ByteBuffer fields = ByteBuffer.wrap(payload);
        byte version = fields.get();
        if (version != (payload.length == PAYLOAD_BYTES ? VERSION : REPLICATED)) {
            return Optional.empty();
        }
        int access = fields.get();
        long lcId = fields.getLong();
        long expiry = fields.getLong();
        if (lcId <= 0 || (access != DataAccess.READ.code && access != DataAccess.READ_WRITE.code)) {
            return Optional.empty();
        }
        ReplicaEpoch replica = null;
        if (version == REPLICATED) {
            long familyId = fields.getLong();
            int column = Short.toUnsignedInt(fields.getShort());
            int columns = Short.toUnsignedInt(fields.getShort());
            long epoch = fields.getLong();
            if (familyId <= 0 || epoch <= 0 || columns < 1 || column >= columns) {
                return Optional.empty();
            }
            replica = new ReplicaEpoch(familyId, column, columns, epoch);
        }
        DataGrant grant = new DataGrant(lcId, DataAccess.ofCode(access), Instant.ofEpochSecond(expiry), replica);
        return grant.expiredAt(now) ? Optional.empty() : Optional.of(grant);
    }

    private static byte[] hmac(SecretKeySpec key, byte[] data) {
        try {
            Mac mac = Mac.getInstance(ALGORITHM);
            mac.init(key);
            return mac.doFinal(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every Java runtime", e);
        }
    }

    @Override
    public String toString() {
        return "DataTokens[key withheld]";
    }
}
