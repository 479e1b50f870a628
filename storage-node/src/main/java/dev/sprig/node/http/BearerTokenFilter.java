package dev.sprig.node.http;

import dev.sprig.node.access.NodeToken;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.Set;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Lets a request through only with {@code Authorization: Bearer <node token>}, api-server's control
 * credential (a client's data token opens NBD exports, nothing here); health and its two probes
 * stay open. A refused request is answered before any controller runs, so nothing is read or
 * written.
 */
final class BearerTokenFilter extends OncePerRequestFilter {

    private static final String PREFIX = "Bearer ";
    private static final Set<String> OPEN =
            Set.of("/actuator/health", "/actuator/health/liveness", "/actuator/health/readiness");

    private final NodeToken token;
    private final ProblemWriter problems;

    BearerTokenFilter(NodeToken token, ProblemWriter problems) {
        this.token = token;
        this.problems = problems;
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        String path = request.getRequestURI().substring(request.getContextPath().length());
        // exact paths: a prefix would open whatever else is ever mapped below /actuator/health/
        return OPEN.contains(path);
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String header = request.getHeader(HttpHeaders.AUTHORIZATION);
        if (header != null
                && header.startsWith(PREFIX)
                && token.matches(header.substring(PREFIX.length()).strip())) {
            chain.doFilter(request, response);
            return;
        }
        response.setHeader(HttpHeaders.WWW_AUTHENTICATE, "Bearer realm=\"sprig-node\"");
        problems.write(
                response,
                HttpStatus.UNAUTHORIZED,
                "UNAUTHENTICATED",
                header == null ? "this endpoint requires a bearer token" : "the bearer token is not valid");
    }
}
