package dev.sprig.api.lineage;

import dev.sprig.api.error.SprigException;

/**
 * What a resource's name may be, checked where resources are made, so that every way in (the API's
 * JSON, the console's forms) gets the same 400 instead of the database's check constraint (a 500).
 */
public final class Names {

    /** The longest name of an image, disk or snapshot (the column's check). */
    public static final int MAX = 128;

    /** The longest prefix of a batch's names: room for {@code -0001} … {@code -5000} within {@link #MAX}. */
    public static final int MAX_PREFIX = 100;

    private Names() {}

    /** {@code name}, which must have something besides blanks, at most {@code max} characters, no control characters. */
    public static String require(String name, int max, String what) {
        if (name.isBlank()) {
            throw SprigException.invalidArgument(what + " must not be blank");
        }
        if (name.length() > max) {
            throw SprigException.invalidArgument(what + " must be at most " + max + " characters");
        }
        if (name.chars().anyMatch(Character::isISOControl)) {
            throw SprigException.invalidArgument(what + " must not contain control characters");
        }
        return name;
    }
}
