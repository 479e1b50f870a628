package dev.sprig.api.web;

import dev.sprig.api.error.SprigException;
import org.jspecify.annotations.Nullable;

/** Page sizes for every listing: 50 unless asked, at most 1,000. */
public final class Paging {

    public static final int DEFAULT_SIZE = 50;
    public static final int MAX_SIZE = 1000;

    private Paging() {}

    public static int size(@Nullable Integer requested) {
        if (requested == null) {
            return DEFAULT_SIZE;
        }
        if (requested < 1 || requested > MAX_SIZE) {
            throw SprigException.invalidArgument("pageSize must be between 1 and " + MAX_SIZE);
        }
        return requested;
    }
}
