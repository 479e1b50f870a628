package dev.sprig.node.http;

import dev.sprig.node.access.NodeToken;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Lets a request through only with {@code Authorization: Bearer <node token>}, api-server's control
 * credential (a client's data token opens NBD exports, nothing here); health and its two probes
 * stay open. The metrics token ({@code sprig.node.metrics-token}, when set) opens {@code GET
 * /actuator/prometheus} and nothing else, so that a monitoring system never holds the token that
 * writes data. A refused request is answered before any controller runs, so nothing is read or
 * written.
 */
final class BearerTokenFilter extends OncePerRequestFilter {

    private static final String PREFIX = "Bearer ";
    private static final Set<String> OPEN =
            Set.of("/actuator/health", "/actuator/health/liveness", "/actuator/health/readiness");

    private static final String METRICS = "/actuator/prometheus";

    private final NodeToken token;
    private final byte @Nullable [] metricsToken;
    private final ProblemWriter problems;

    BearerTokenFilter(NodeToken token, @Nullable String metricsToken, ProblemWriter problems) {
        this.token = token;
        this.metricsToken =
                metricsToken == null || metricsToken.isBlank() ? null : metricsToken.getBytes(StandardCharsets.UTF_8);
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
        if (header != null && header.startsWith(PREFIX)) {
            String presented = header.substring(PREFIX.length()).strip();
            if (token.matches(presented) || opensMetrics(request, presented)) {
                chain.doFilter(request, response);
                return;
            }
        }
        response.setHeader(HttpHeaders.WWW_AUTHENTICATE, "Bearer realm=\"sprig-node\"");
        problems.write(
                response,
                HttpStatus.UNAUTHORIZED,
                "UNAUTHENTICATED",
                header == null ? "this endpoint requires a bearer token" : "the bearer token is not valid");
    }

    /** Constant-time, like the node token's check; an exact path and GET only. */
    private boolean opensMetrics(HttpServletRequest request, String presented) {
        return metricsToken != null
                && "GET".equals(request.getMethod())
                && METRICS.equals(request.getRequestURI()
                        .substring(request.getContextPath().length()))
                && MessageDigest.isEqual(metricsToken, presented.getBytes(StandardCharsets.UTF_8));
    }
}
