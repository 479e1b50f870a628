package dev.sprig.api.console;

import org.jspecify.annotations.Nullable;

/** A console list's filters and page: blank form fields mean no filter. */
final class Listing {

    /** Rows on a page of every console list: enough to scan, few enough to stay fast at 100,000. */
    static final int PAGE_SIZE = 50;

    private Listing() {}

    static @Nullable String given(@Nullable String field) {
        return field == null || field.isBlank() ? null : field.strip();
    }
}
