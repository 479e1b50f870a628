package dev.sprig.api.web;

import org.jspecify.annotations.Nullable;

/**
 * The one rule every string a client sends obeys, names, name prefixes, ids, page tokens and
 * Idempotency-Keys alike: no NUL character. PostgreSQL text cannot hold one, so a string with it
 * would fail deep inside a query as a server error; it is refused at the edge instead, in the URL
 * and headers by {@link TextInputFilter} and in JSON bodies by {@link InputConfiguration}.
 */
final class TextInput {

    static final String RULE = "must not contain the NUL character (U+0000)";

    private TextInput() {}

    static boolean acceptable(@Nullable String value) {
        return value == null || value.indexOf('\0') < 0;
    }

    /** Whether a URL part, still percent-encoded, decodes to text the rule accepts. */
    static boolean acceptableEncoded(@Nullable String encoded) {
        // %00 is the only spelling of NUL a servlet container lets through in a request line
        return encoded == null || (acceptable(encoded) && !encoded.contains("%00"));
    }
}
