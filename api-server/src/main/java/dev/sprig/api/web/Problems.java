package dev.sprig.api.web;

import java.io.IOException;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import tools.jackson.databind.json.JsonMapper;

/** Problem+json bodies written outside Spring MVC (security), in the same shape as the advice's. */
public final class Problems {

    private Problems() {}

    public static String codeFor(HttpStatusCode status) {
        return switch (status.value()) {
            case 400 -> "INVALID_ARGUMENT";
            case 401 -> "UNAUTHENTICATED";
            case 403 -> "PERMISSION_DENIED";
            case 404 -> "NOT_FOUND";
            case 405 -> "METHOD_NOT_ALLOWED";
            case 406 -> "NOT_ACCEPTABLE";
            case 409 -> "CONFLICT";
            case 413 -> "PAYLOAD_TOO_LARGE";
            case 415 -> "UNSUPPORTED_MEDIA_TYPE";
            default -> status.is5xxServerError() ? "INTERNAL" : "INVALID_ARGUMENT";
        };
    }

    static void write(
            jakarta.servlet.http.HttpServletResponse response, JsonMapper json, HttpStatus status, String detail)
            throws IOException {
        write(response, json, status, codeFor(status), detail);
    }

    public static void write(
            jakarta.servlet.http.HttpServletResponse response,
            JsonMapper json,
            HttpStatus status,
            String code,
            String detail)
            throws IOException {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(status, detail);
        problem.setProperty("code", code);
        response.setStatus(status.value());
        response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
        json.writeValue(response.getOutputStream(), problem);
    }
}
