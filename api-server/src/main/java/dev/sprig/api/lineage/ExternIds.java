package dev.sprig.api.lineage;

import java.security.SecureRandom;

/** New extern_ids: the kind's prefix and 16 random base-36 characters (about 82 bits). */
public final class ExternIds {

    private static final char[] ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz".toCharArray();
    private static final SecureRandom RANDOM = new SecureRandom();

    private ExternIds() {}

    public static String next(ResourceKind kind) {
        char[] id = new char[16];
        for (int i = 0; i < id.length; i++) {
            id[i] = ALPHABET[RANDOM.nextInt(ALPHABET.length)];
        }
        return kind.prefix() + "-" + new String(id);
    }
}
