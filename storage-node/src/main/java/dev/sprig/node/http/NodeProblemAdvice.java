package dev.sprig.node.http;

import dev.sprig.engine.CorruptionException;
import dev.sprig.engine.EngineException;
import dev.sprig.node.control.DefinitionConflictException;
import dev.sprig.node.copy.CopyException;
import dev.sprig.node.fence.FencesNotDurableException;
import dev.sprig.node.metrics.DataPathMetrics;
import dev.sprig.node.rebuild.SourceUnreadableException;
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
 * The one place node failures become HTTP: RFC 9457 problem+json with a stable {@code code}. Spring
 * MVC's own failures (malformed JSON, a missing parameter, a wrong type) get a code too, so a client
 * never has to parse a message.
 *
 * <p>Scoped to the node API's controllers, so that an application embedding the node API (api-server)
 * answers its own controllers with its own mapping and the node API's as a storage node does; first
 * in order, so that such an application's global advice (api-server's maps every exception) does not
 * claim the node API's failures before this does. Failures before a handler is chosen, such as a
 * wrong method, reach only global advice: the storage-node application answers them with {@link
 * NodeFallbackProblemAdvice}, an embedding application with its own.
 */
@RestControllerAdvice(
        assignableTypes = {
            LcController.class,
            DataController.class,
            NodeController.class,
            FenceController.class,
            SegmentController.class,
            RebuildSourceController.class
        })
@Order(Ordered.HIGHEST_PRECEDENCE)
class NodeProblemAdvice extends ResponseEntityExceptionHandler {

    private static final Map<String, HttpStatus> ENGINE_STATUS = Map.of(
            "UNKNOWN_LC", HttpStatus.NOT_FOUND,
            "LC_EXISTS", HttpStatus.CONFLICT,
            "LC_FROZEN", HttpStatus.CONFLICT,
            "LC_HAS_CHILDREN", HttpStatus.CONFLICT,
            "LC_NOT_EMPTY", HttpStatus.CONFLICT,
            "PARENT_NOT_FROZEN", HttpStatus.CONFLICT,
            "OUT_OF_RANGE", HttpStatus.REQUESTED_RANGE_NOT_SATISFIABLE,
            "ENGINE_CLOSED", HttpStatus.SERVICE_UNAVAILABLE,
            // the disk is full: nothing changed, the same request succeeds once space is freed
            "NO_SPACE", HttpStatus.INSUFFICIENT_STORAGE,
            // an fsync failed: reads go on, nothing changes until the node is restarted
            "READ_ONLY", HttpStatus.SERVICE_UNAVAILABLE);

    private final DataPathMetrics metrics;

    NodeProblemAdvice(DataPathMetrics metrics) {
        this.metrics = metrics;
    }

    @ExceptionHandler(EngineException.class)
    ResponseEntity<ProblemDetail> engine(EngineException failure) {
        if (failure instanceof CorruptionException) {
            metrics.corruption();
        }
        HttpStatus status = ENGINE_STATUS.getOrDefault(failure.code(), HttpStatus.INTERNAL_SERVER_ERROR);
        return problem(status, failure.code(), failure.getMessage());
    }

    @ExceptionHandler(DefinitionConflictException.class)
    ResponseEntity<ProblemDetail> conflict(DefinitionConflictException failure) {
        return problem(HttpStatus.CONFLICT, "DEFINITION_CONFLICT", failure.getMessage());
    }

    /** The node could not make a raised fence durable: a node failure, and the caller raises it again. */
    @ExceptionHandler(FencesNotDurableException.class)
    ResponseEntity<ProblemDetail> fencesNotDurable(FencesNotDurableException failure) {
        return problem(HttpStatus.INTERNAL_SERVER_ERROR, "FENCE_NOT_DURABLE", failure.getMessage());
    }

    @ExceptionHandler(RequestRejectedException.class)
    ResponseEntity<ProblemDetail> rejected(RequestRejectedException failure) {
        return ResponseEntity.status(failure.status())
                .contentType(MediaType.APPLICATION_PROBLEM_JSON)
                .body(ProblemWriter.problem(failure.status(), failure.code(), failure.getMessage()));
    }

    @ExceptionHandler(CopyException.class)
    ResponseEntity<ProblemDetail> copy(CopyException failure) {
        HttpStatus status = switch (failure.reason()) {
            case INVALID_ARGUMENT -> HttpStatus.BAD_REQUEST;
            // the other node failed, not this one
            case SOURCE_UNREADABLE -> HttpStatus.BAD_GATEWAY;
        };
        return problem(status, failure.code(), failure.getMessage());
    }

    /** A rebuilding lc's write needed a segment its rebuild source did not deliver: nothing was written. */
    @ExceptionHandler(SourceUnreadableException.class)
    ResponseEntity<ProblemDetail> rebuildSource(SourceUnreadableException failure) {
        return problem(HttpStatus.BAD_GATEWAY, failure.code(), failure.getMessage());
    }

    @ExceptionHandler(DataStreams.RangeNotSatisfiableException.class)
    ResponseEntity<ProblemDetail> range(DataStreams.RangeNotSatisfiableException failure) {
        return ResponseEntity.status(HttpStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                .header(DataStreams.RangeNotSatisfiableException.header(), failure.contentRange())
                .contentType(MediaType.APPLICATION_PROBLEM_JSON)
                .body(ProblemWriter.problem(
                        HttpStatus.REQUESTED_RANGE_NOT_SATISFIABLE, "OUT_OF_RANGE", failure.getMessage()));
    }

    /** Adds a stable code to the problems Spring MVC builds for its own exceptions. */
    @Override
    protected @Nullable ResponseEntity<Object> handleExceptionInternal(
            Exception ex, @Nullable Object body, HttpHeaders headers, HttpStatusCode statusCode, WebRequest request) {
        ResponseEntity<Object> response = super.handleExceptionInternal(ex, body, headers, statusCode, request);
        if (response != null && response.getBody() instanceof ProblemDetail problem) {
            Map<String, Object> properties = problem.getProperties();
            if (properties == null || !properties.containsKey("code")) {
                problem.setProperty("code", codeFor(statusCode));
            }
        }
        return response;
    }

    private static String codeFor(HttpStatusCode status) {
        return switch (status.value()) {
            case 400 -> "INVALID_ARGUMENT";
            case 404 -> "NOT_FOUND";
            case 405 -> "METHOD_NOT_ALLOWED";
            case 406 -> "NOT_ACCEPTABLE";
            case 413 -> "PAYLOAD_TOO_LARGE";
            case 415 -> "UNSUPPORTED_MEDIA_TYPE";
            default -> status.is5xxServerError() ? "INTERNAL" : "INVALID_ARGUMENT";
        };
    }

    private static ResponseEntity<ProblemDetail> problem(HttpStatus status, String code, String detail) {
        return ResponseEntity.status(status)
                .contentType(MediaType.APPLICATION_PROBLEM_JSON)
                .body(ProblemWriter.problem(status, code, detail));
    }
}
