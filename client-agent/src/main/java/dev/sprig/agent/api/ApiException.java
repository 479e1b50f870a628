package dev.sprig.agent.api;

import java.io.IOException;

/** api-server refused a call; the message is its status and problem+json body. */
public final class ApiException extends IOException {

    public ApiException(int status, String body) {
        super("api-server answered " + status + (body.isEmpty() ? "" : ": " + body));
    }
}
