package dev.sprig.api.web;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.Collections;
import org.springframework.http.HttpStatus;
import org.springframework.web.filter.OncePerRequestFilter;
import tools.jackson.databind.json.JsonMapper;

/**
 * Refuses, before anything reads them, a path, query or header that breaks {@link TextInput}'s rule:
 * a 400 problem rather than a PostgreSQL error from the Idempotency-Key filter, a lookup by id or a
 * listing by name prefix.
 */
final class TextInputFilter extends OncePerRequestFilter {

    private final JsonMapper json;

    TextInputFilter(JsonMapper json) {
        this.json = json;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String refused = refused(request);
        if (refused != null) {
            Problems.write(response, json, HttpStatus.BAD_REQUEST, refused + " " + TextInput.RULE);
            return;
        }
        chain.doFilter(request, response);
    }

    private static String refused(HttpServletRequest request) {
        if (!TextInput.acceptableEncoded(request.getRequestURI())) {
            return "the path";
        }
        if (!TextInput.acceptableEncoded(request.getQueryString())) {
            return "a query parameter";
        }
        for (String name : Collections.list(request.getHeaderNames())) {
            for (String value : Collections.list(request.getHeaders(name))) {
                if (!TextInput.acceptable(value)) {
                    return "header " + name;
                }
            }
        }
        return null;
    }
}
