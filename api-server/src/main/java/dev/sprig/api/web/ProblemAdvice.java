package dev.sprig.api.web;

import dev.sprig.api.error.SprigException;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;

/**
 * The one place api-server failures become HTTP: RFC 9457 problem+json with a stable {@code code}.
 * Spring MVC's own failures (malformed JSON, a wrong parameter type) get a code too.
 */
@RestControllerAdvice
@Order(Ordered.HIGHEST_PRECEDENCE)
class ProblemAdvice extends ResponseEntityExceptionHandler {

    private static final Map<String, HttpStatus> STATUS = Map.of(
            "NOT_FOUND", HttpStatus.NOT_FOUND,
            "ALREADY_EXISTS", HttpStatus.CONFLICT,
            "INVALID_ARGUMENT", HttpStatus.BAD_REQUEST,
            "INVALID_STATE", HttpStatus.CONFLICT,
            "HAS_DEPENDENTS", HttpStatus.CONFLICT,
            "NODE_UNAVAILABLE", HttpStatus.SERVICE_UNAVAILABLE,
            "CACHE_FULL", HttpStatus.INSUFFICIENT_STORAGE);

    @ExceptionHandler(SprigException.class)
    ResponseEntity<ProblemDetail> sprig(SprigException failure) {
        HttpStatus status = STATUS.getOrDefault(failure.code(), HttpStatus.INTERNAL_SERVER_ERROR);
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(status, failure.getMessage());
        problem.setProperty("code", failure.code());
        HttpHeaders headers = new HttpHeaders();
        if (failure instanceof SprigException.HasDependents dependents) {
            problem.setProperty("dependents", dependents.dependents());
        }
        if (failure instanceof SprigException.NodeUnavailable unavailable) {
            problem.setProperty("node", unavailable.nodeId());
            headers.set(
                    HttpHeaders.RETRY_AFTER,
                    Long.toString(Math.max(1, unavailable.retryAfter().toSeconds())));
        }
        return ResponseEntity.status(status)
                .headers(headers)
                .contentType(MediaType.APPLICATION_PROBLEM_JSON)
                .body(problem);
    }

    @Override
    protected @Nullable ResponseEntity<Object> handleExceptionInternal(
            Exception ex, @Nullable Object body, HttpHeaders headers, HttpStatusCode statusCode, WebRequest request) {
        ResponseEntity<Object> response = super.handleExceptionInternal(ex, body, headers, statusCode, request);
        if (response != null && response.getBody() instanceof ProblemDetail problem) {
            Map<String, Object> properties = problem.getProperties();
            if (properties == null || !properties.containsKey("code")) {
                problem.setProperty("code", Problems.codeFor(statusCode));
            }
        }
        return response;
    }
}
