package dev.sprig.client;

import java.io.IOException;
import org.jspecify.annotations.Nullable;
import tools.jackson.core.JacksonException;

/**
 * api-server refused a call; the message is its status and problem+json body, as is (the agent prints
 * it to the user unchanged).
 */
public final class ApiException extends IOException {

    private final int status;
    private final String body;

    public ApiException(int status, String body) {
        super("api-server answered " + status + (body.isEmpty() ? "" : ": " + body));
        this.status = status;
        this.body = body;
    }

    public int status() {
        return status;
    }

    /** The problem+json body, or null when api-server (or a proxy before it) answered something else. */
    public @Nullable Problem problem() {
        try {
            return body.isEmpty() ? null : Wire.read(body, Problem.class);
        } catch (JacksonException notProblemJson) {
            return null;
        }
    }
}
