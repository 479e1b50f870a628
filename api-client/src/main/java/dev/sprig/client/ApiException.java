package dev.sprig.client;

import java.io.IOException;
import org.jspecify.annotations.Nullable;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;

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
            if (body.isEmpty()) {
                return null;
            }
            JsonNode json = Wire.tree(body);
            // JSON from something else (a proxy) lacks what every problem of api-server's has
            if (!json.path("code").isString()
                    || !json.path("title").isString()
                    || !json.path("status").isInt()) {
                return null;
            }
            return Wire.read(body, Problem.class);
        } catch (JacksonException notProblemJson) {
            return null;
        }
    }
}
