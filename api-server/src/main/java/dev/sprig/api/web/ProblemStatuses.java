package dev.sprig.api.web;

import dev.sprig.api.error.SprigException;
import java.util.Map;
import org.springframework.http.HttpStatus;

/** The HTTP status of each problem code: one table for the API's problem+json and the console's notices. */
public final class ProblemStatuses {

    private static final Map<String, HttpStatus> STATUS = Map.of(
            "NOT_FOUND", HttpStatus.NOT_FOUND,
            "ALREADY_EXISTS", HttpStatus.CONFLICT,
            "INVALID_ARGUMENT", HttpStatus.BAD_REQUEST,
            "INVALID_STATE", HttpStatus.CONFLICT,
            "HAS_DEPENDENTS", HttpStatus.CONFLICT,
            "NODE_UNAVAILABLE", HttpStatus.SERVICE_UNAVAILABLE,
            "INSUFFICIENT_NODES", HttpStatus.SERVICE_UNAVAILABLE,
            "INSUFFICIENT_REPLICAS", HttpStatus.SERVICE_UNAVAILABLE,
            "DATABASE_UNAVAILABLE", HttpStatus.SERVICE_UNAVAILABLE,
            "CACHE_FULL", HttpStatus.INSUFFICIENT_STORAGE);

    private ProblemStatuses() {}

    public static HttpStatus of(SprigException failure) {
        return STATUS.getOrDefault(failure.code(), HttpStatus.INTERNAL_SERVER_ERROR);
    }
}
