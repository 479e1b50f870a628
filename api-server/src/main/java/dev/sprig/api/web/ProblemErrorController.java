package dev.sprig.api.web;

import io.swagger.v3.oas.annotations.Hidden;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.http.HttpServletRequest;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.webmvc.error.ErrorAttributes;
import org.springframework.boot.webmvc.error.ErrorController;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.context.request.ServletWebRequest;

/**
 * Replaces Spring Boot's error controller, whose body ({@code timestamp}, {@code status},
 * {@code error}, {@code path}) is not problem+json: what fails outside Spring MVC, in a servlet
 * filter (the Idempotency-Key filter reads and writes the database before the controller runs), or
 * a status sent with {@code sendError}, is answered in the API's own shape, mapped by {@link
 * ProblemAdvice} like any other failure.
 */
@RestController
// only where there is a servlet container to send failures here (some tests run without a web server)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@Hidden // not an endpoint of the API: where the servlet container sends failures
class ProblemErrorController implements ErrorController {

    private final ErrorAttributes errors;
    private final ProblemAdvice advice;

    ProblemErrorController(ErrorAttributes errors, ProblemAdvice advice) {
        this.errors = errors;
        this.advice = advice;
    }

    @RequestMapping(path = "${server.error.path:/error}")
    ResponseEntity<ProblemDetail> error(HttpServletRequest request) {
        if (request.getDispatcherType() != DispatcherType.ERROR) {
            // asked for by a client, not forwarded by the container: no such resource, not a failure
            return problem(HttpStatus.NOT_FOUND);
        }
        Throwable failure = errors.getError(new ServletWebRequest(request));
        if (failure != null) {
            return advice.problemFor(failure);
        }
        return problem(status(request));
    }

    private static ResponseEntity<ProblemDetail> problem(HttpStatus status) {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(status, status.getReasonPhrase());
        problem.setProperty("code", Problems.codeFor(status));
        return ResponseEntity.status(status)
                .contentType(MediaType.APPLICATION_PROBLEM_JSON)
                .body(problem);
    }

    private static HttpStatus status(HttpServletRequest request) {
        Object code = request.getAttribute(RequestDispatcher.ERROR_STATUS_CODE);
        HttpStatus status = code instanceof Integer value ? HttpStatus.resolve(value) : null;
        return status == null ? HttpStatus.INTERNAL_SERVER_ERROR : status;
    }
}
