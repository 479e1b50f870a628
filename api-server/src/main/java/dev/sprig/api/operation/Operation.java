package dev.sprig.api.operation;

import java.security.SecureRandom;
import java.time.Instant;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * One piece of long-running work on one resource, as its row holds it.
 *
 * @param id {@code op-} and 16 random base-36 characters
 * @param targetId the extern_id the work is on; kept after that resource is deleted
 * @param done progress so far, in {@link Kind#unit()}
 * @param error why it failed; set exactly when {@code state} is failed
 * @param errorCode the stable problem code of the failure ({@code CACHE_FULL}, …), when it has one
 * @param finishedAt when it succeeded or failed; null while running
 * @param attempts how many runs of it were started and not stopped by an orderly shutdown
 */
public record Operation(
        String id,
        Kind kind,
        String targetId,
        State state,
        long done,
        long total,
        @Nullable String error,
        @Nullable String errorCode,
        Instant createdAt,
        Instant updatedAt,
        @Nullable Instant finishedAt,
        int attempts) {

    /** The {@link #errorCode} of an operation a client cancelled (it is failed). */
    public static final String CANCELLED = "CANCELLED";
    /** The {@link #errorCode} of an operation whose runs kept ending without finishing it. */
    public static final String ATTEMPTS_EXHAUSTED = "ATTEMPTS_EXHAUSTED";

    private static final char[] ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz".toCharArray();
    private static final SecureRandom RANDOM = new SecureRandom();

    /** What the work is, and the unit its progress counts in. */
    public enum Kind {
        /** Copying what a disk reads from its ancestors into its own lc; counted in PCs. */
        FLATTEN("pcs"),
        /** Reading an image from its source into a fresh root lc; counted in bytes of the image. */
        IMPORT("bytes"),
        /** A bulk clone of an image that was not cached: the import, then the clones; counted in disks. */
        CLONE("disks"),
        /** Another copy of an image, on nodes apart from its others; counted in PCs. */
        COPY("pcs"),
        /**
         * A replica set's new member filled from an in-sync one, replacing a member whose node is down
         * (decision 012); counted in bytes of the segments the source holds in the set's column.
         */
        RECOVERY("bytes"),
        /**
         * A replica scrub: every node checks its segments against their CRCs, the members of each
         * replica set compare theirs, and copies that rotted or differ are repaired from a good
         * member; counted in replica sets compared.
         */
        SCRUB("sets");

        private final String unit;

        Kind(String unit) {
            this.unit = unit;
        }

        public String unit() {
            return unit;
        }

        public String column() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Kind ofColumn(String value) {
            return valueOf(value.toUpperCase(Locale.ROOT));
        }
    }

    public enum State {
        RUNNING,
        SUCCEEDED,
        FAILED;

        public String column() {
            return name().toLowerCase(Locale.ROOT);
        }

        static State ofColumn(String value) {
            return valueOf(value.toUpperCase(Locale.ROOT));
        }
    }

    /** A fresh operation id (about 82 random bits, like extern_ids). */
    static String newId() {
        char[] id = new char[16];
        for (int i = 0; i < id.length; i++) {
            id[i] = ALPHABET[RANDOM.nextInt(ALPHABET.length)];
        }
        return "op-" + new String(id);
    }
}
