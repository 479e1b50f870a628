package dev.sprig.api.web;

import dev.sprig.api.SprigApiProperties;
import dev.sprig.api.database.ConnectionLoss;
import dev.sprig.api.error.SprigException;
import java.time.Duration;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.dao.DataAccessException;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.transaction.TransactionException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;

/**
 * The one place api-server failures become HTTP: RFC 9457 problem+json with a stable {@code code}.
 * Spring MVC's own failures (malformed JSON, a wrong parameter type) get a code too, a lost database
 * connection is a 503 with Retry-After, and anything unexpected a 500 problem (never Spring's default
 * error body). {@link ProblemErrorController} maps what fails outside Spring MVC (in a filter) here too.
 *
 * <p>Global, because failures before a handler is chosen (an unknown path, a wrong method) reach only
 * global advice; last in order, so that the embedded node API's controllers, whose advice claims
 * them alone and comes first, answer as a storage node does (their codes, such as
 * {@code UNKNOWN_LC}), not with this mapping's catch-all 500.
 */
@RestControllerAdvice
@Order(Ordered.LOWEST_PRECEDENCE)
class ProblemAdvice extends ResponseEntityExceptionHandler {

    private static final Logger log = LoggerFactory.getLogger(ProblemAdvice.class);

    /** What a lost connection outside a retried transaction (a read, say) tells the client to wait. */
    private final Duration databaseRetryAfter;

    ProblemAdvice(SprigApiProperties properties) {
        this.databaseRetryAfter = properties.database().retryAfter();
    }

    @ExceptionHandler(SprigException.class)
    ResponseEntity<ProblemDetail> sprig(SprigException failure) {
        HttpStatus status = ProblemStatuses.of(failure);
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(status, failure.getMessage());
        problem.setProperty("code", failure.code());
        HttpHeaders headers = new HttpHeaders();
        if (failure instanceof SprigException.HasDependents dependents) {
            problem.setProperty("dependents", dependents.dependents());
        }
        if (failure instanceof SprigException.NodeUnavailable unavailable) {
            problem.setProperty("node", unavailable.nodeId());
        }
        if (failure instanceof SprigException.DatabaseUnavailable unavailable) {
            problem.setProperty("outcome", Boolean.FALSE.equals(unavailable.applied()) ? "not_applied" : "unknown");
        }
        if (failure instanceof SprigException.Transient passing) {
            headers.set(
                    HttpHeaders.RETRY_AFTER,
                    Long.toString(Math.max(1, passing.retryAfter().toSeconds())));
        }
        return ResponseEntity.status(status)
                .headers(headers)
                .contentType(MediaType.APPLICATION_PROBLEM_JSON)
                .body(problem);
    }

    /**
     * A database failure that no retried transaction turned into a {@code SprigException}: a lost
     * connection under a plain query is the database's to fix (503); anything else is a bug.
     */
    @ExceptionHandler({DataAccessException.class, TransactionException.class})
    ResponseEntity<ProblemDetail> database(RuntimeException failure) {
        if (ConnectionLoss.causedBy(failure)) {
            log.warn("The database connection was lost under a request: {}", failure.getMessage());
            return sprig(SprigException.databaseUnavailable(databaseRetryAfter, null, failure));
        }
        return unexpected(failure);
    }

    /** Whatever nothing above maps: a 500 in the API's own shape, logged with its stack trace. */
    @ExceptionHandler(Exception.class)
    ResponseEntity<ProblemDetail> unexpected(Exception failure) {
        log.error("Request failed unexpectedly", failure);
        return internal();
    }

    /**
     * The answer to a failure thrown outside Spring MVC (by a servlet filter), which the error
     * controller hands over.
     */
    ResponseEntity<ProblemDetail> problemFor(Throwable failure) {
        Throwable cause = failure;
        while (cause instanceof jakarta.servlet.ServletException && cause.getCause() != null) {
            cause = cause.getCause();
        }
        if (cause instanceof SprigException sprig) {
            return sprig(sprig);
        }
        if (cause instanceof DataAccessException || cause instanceof TransactionException) {
            return database((RuntimeException) cause);
        }
        if (cause instanceof Exception exception) {
            return unexpected(exception);
        }
        log.error("Request failed unexpectedly", cause);
        return internal();
    }

    private static ResponseEntity<ProblemDetail> internal() {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(
                HttpStatus.INTERNAL_SERVER_ERROR, "an internal error occurred; it has been logged");
        problem.setProperty("code", Problems.codeFor(HttpStatus.INTERNAL_SERVER_ERROR));
        return ResponseEntity.status(HttpStatus.INTERNAL_SERVER_ERROR)
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
