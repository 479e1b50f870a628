package dev.sprig.node.http;

import org.springframework.http.HttpStatus;

/** A request the node refuses before touching the engine: too large, no length, a bad range. */
final class RequestRejectedException extends RuntimeException {

    private final HttpStatus status;
    private final String code;

    RequestRejectedException(HttpStatus status, String code, String detail) {
        super(detail);
        this.status = status;
        this.code = code;
    }

    HttpStatus status() {
        return status;
    }

    String code() {
        return code;
    }
}
