package dev.sprig.node.http;

import jakarta.servlet.DispatcherType;
import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.http.HttpServletRequest;
import org.springframework.boot.webmvc.error.ErrorController;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * Replaces Spring Boot's error controller on a storage node: what fails outside Spring MVC (a status
 * sent with {@code sendError}, an exception in a filter) is answered as problem+json without a stack
 * trace, and {@code /error} asked for directly is a path like any unknown one (404), not a 500.
 *
 * <p>Declared by the storage-node application ({@code NodeConfiguration}), never by {@link
 * NodeWebConfiguration}: api-server, which embeds the node API, has an error controller of its own.
 */
@RestController
public class NodeErrorController implements ErrorController {

    @RequestMapping(path = "${server.error.path:/error}")
    ResponseEntity<ProblemDetail> error(HttpServletRequest request) {
        HttpStatus status = request.getDispatcherType() == DispatcherType.ERROR
                ? status(request)
                // asked for by a client, not forwarded by the container
                : HttpStatus.NOT_FOUND;
        String code = switch (status) {
            case NOT_FOUND -> "NOT_FOUND";
            case UNAUTHORIZED -> "UNAUTHENTICATED";
            case METHOD_NOT_ALLOWED -> "METHOD_NOT_ALLOWED";
            case PAYLOAD_TOO_LARGE -> "PAYLOAD_TOO_LARGE";
            default -> status.is5xxServerError() ? "INTERNAL" : "INVALID_ARGUMENT";
        };
        return ResponseEntity.status(status)
                .contentType(MediaType.APPLICATION_PROBLEM_JSON)
                .body(ProblemWriter.problem(status, code, status.getReasonPhrase()));
    }

    private static HttpStatus status(HttpServletRequest request) {
        Object code = request.getAttribute(RequestDispatcher.ERROR_STATUS_CODE);
        HttpStatus status = code instanceof Integer value ? HttpStatus.resolve(value) : null;
        return status == null ? HttpStatus.INTERNAL_SERVER_ERROR : status;
    }
}
