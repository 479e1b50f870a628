package dev.sprig.api.console;

import dev.sprig.api.error.SprigException;
import dev.sprig.api.web.ProblemStatuses;
import dev.sprig.api.web.Problems;
import org.jspecify.annotations.Nullable;
import org.springframework.http.HttpStatus;

/**
 * What the console says after an action: that it was done, or that it was refused, with the
 * status, code and words the API answers the same request with.
 */
record Notice(
        boolean refused,
        String text,
        @Nullable Integer status,
        @Nullable String code) {

    static Notice done(String text) {
        return new Notice(false, text, null, null);
    }

    static Notice refused(SprigException failure) {
        return new Notice(
                true, failure.getMessage(), ProblemStatuses.of(failure).value(), failure.code());
    }

    static Notice notAnAdmin() {
        return new Notice(
                true,
                "this action needs an admin key (sprig.api.admin-keys)",
                403,
                Problems.codeFor(HttpStatus.FORBIDDEN));
    }
}
