package dev.sprig.api.idempotency;

import dev.sprig.api.error.SprigException;
import dev.sprig.api.web.Problems;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.web.filter.OncePerRequestFilter;
import org.springframework.web.util.ContentCachingResponseWrapper;
import tools.jackson.databind.json.JsonMapper;

/**
 * {@code Idempotency-Key} on POSTs under {@code /v1}. The first request with a key claims it and
 * runs; its response (anything but a server error) is stored and replayed, with
 * {@code Idempotent-Replayed: true}, to every retry of the same request (same method, path, query
 * and body) by the same principal. A retry with a different request under the key is 422; one that
 * arrives while the first still runs is 409. A server error frees the key so that a retry runs
 * again, and so does the death of the api-server that was serving it (see {@link IdempotencyRecords#claim}).
 * Runs after authentication: keys belong to the principal that sent them.
 */
final class IdempotencyFilter extends OncePerRequestFilter {

    private static final Logger log = LoggerFactory.getLogger(IdempotencyFilter.class);

    static final String HEADER = "Idempotency-Key";
    /** Keyed POSTs are small JSON documents; the body is read whole to be hashed. */
    static final int MAX_BODY = 1 << 20;

    private final IdempotencyRecords records;
    private final JsonMapper json;
    private final Duration abandonedAfter;

    IdempotencyFilter(IdempotencyRecords records, JsonMapper json, Duration abandonedAfter) {
        this.records = records;
        this.json = json;
        this.abandonedAfter = abandonedAfter;
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        return !"POST".equals(request.getMethod()) || request.getHeader(HEADER) == null;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        String key = request.getHeader(HEADER).strip();
        Authentication authentication = SecurityContextHolder.getContext().getAuthentication();
        if (authentication == null || !authentication.isAuthenticated() || key.isEmpty() || key.length() > 255) {
            if (key.isEmpty() || key.length() > 255) {
                Problems.write(
                        response,
                        json,
                        HttpStatus.valueOf(400),
                        "INVALID_ARGUMENT",
                        "Idempotency-Key must have 1 to 255 characters");
                return;
            }
            chain.doFilter(request, response);
            return;
        }
        byte[] body = request.getInputStream().readNBytes(MAX_BODY + 1);
        if (body.length > MAX_BODY) {
            Problems.write(
                    response,
                    json,
                    HttpStatus.valueOf(413),
                    "PAYLOAD_TOO_LARGE",
                    "a request with an Idempotency-Key carries at most 1 MiB");
            return;
        }
        String principal = authentication.getName();
        String path = request.getRequestURI();
        String hash = hash(request.getMethod(), path, request.getQueryString(), body);

        Optional<Instant> claimed = records.claim(principal, key, request.getMethod(), path, hash, abandonedAfter);
        if (claimed.isEmpty()) {
            replayOrRefuse(principal, key, hash, response);
            return;
        }
        Instant claimedAt = claimed.get();
        var captured = new ContentCachingResponseWrapper(response);
        try {
            chain.doFilter(new ReplayedBody(request, body), captured);
        } catch (IOException | ServletException | RuntimeException failure) {
            release(principal, key, claimedAt);
            throw failure;
        }
        if (captured.getStatus() >= 500) {
            release(principal, key, claimedAt);
        } else {
            StoredResponse answer = new StoredResponse(
                    captured.getStatus(),
                    captured.getContentType(),
                    captured.getHeader(HttpHeaders.LOCATION),
                    captured.getContentAsByteArray());
            try {
                records.complete(principal, key, claimedAt, answer);
            } catch (SprigException.DatabaseUnavailable lost) {
                // The request itself has taken effect: its answer is the truth and goes out. Only a
                // retry under this key misses it (409 REQUEST_IN_PROGRESS until the claim is taken
                // over as abandoned, then a run whose create finds its name taken).
                log.warn(
                        "Answered {} {} but could not store the answer for its Idempotency-Key: {}",
                        request.getMethod(),
                        path,
                        lost.getMessage());
            }
        }
        captured.copyBodyToResponse();
    }

    /**
     * Frees the key after a server error. When the database is gone too the key stays claimed until
     * it counts as abandoned; the error the request met is still the answer.
     */
    private void release(String principal, String key, Instant claimedAt) {
        try {
            records.release(principal, key, claimedAt);
        } catch (SprigException.DatabaseUnavailable lost) {
            log.warn("Could not free an Idempotency-Key after a server error: {}", lost.getMessage());
        }
    }

    private void replayOrRefuse(String principal, String key, String hash, HttpServletResponse response)
            throws IOException {
        Optional<IdempotencyRecords.Claim> claim = records.find(principal, key);
        if (claim.isEmpty()) {
            Problems.write(
                    response,
                    json,
                    HttpStatus.valueOf(409),
                    "REQUEST_IN_PROGRESS",
                    "the first request with this Idempotency-Key failed" + " just now; retry");
            return;
        }
        if (!claim.get().requestHash().equals(hash)) {
            Problems.write(
                    response,
                    json,
                    HttpStatus.valueOf(422),
                    "IDEMPOTENCY_KEY_REUSED",
                    "this Idempotency-Key was used for a different" + " request; use a new key for a new request");
            return;
        }
        StoredResponse stored = claim.get().response();
        if (stored == null) {
            Problems.write(
                    response,
                    json,
                    HttpStatus.valueOf(409),
                    "REQUEST_IN_PROGRESS",
                    "the first request with this Idempotency-Key is" + " still being served; retry shortly");
            return;
        }
        response.setStatus(stored.status());
        response.setHeader("Idempotent-Replayed", "true");
        if (stored.contentType() != null) {
            response.setContentType(stored.contentType());
        }
        if (stored.location() != null) {
            response.setHeader(HttpHeaders.LOCATION, stored.location());
        }
        response.setContentLength(stored.body().length);
        response.getOutputStream().write(stored.body());
    }

    private static String hash(
            String method, String path, @org.jspecify.annotations.Nullable String query, byte[] body) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            digest.update(
                    (method + " " + path + "?" + (query == null ? "" : query) + "\n").getBytes(StandardCharsets.UTF_8));
            digest.update(body);
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException impossible) {
            throw new IllegalStateException(impossible);
        }
    }

    /** The request with its body, already read for hashing, served again to the controller. */
    private static final class ReplayedBody extends HttpServletRequestWrapper {
        private final byte[] body;

        ReplayedBody(HttpServletRequest request, byte[] body) {
            super(request);
            this.body = body;
        }

        @Override
        public ServletInputStream getInputStream() {
            var in = new ByteArrayInputStream(body);
            return new ServletInputStream() {
                @Override
                public int read() {
                    return in.read();
                }

                @Override
                public int read(byte[] b, int off, int len) {
                    return in.read(b, off, len);
                }

                @Override
                public boolean isFinished() {
                    return in.available() == 0;
                }

                @Override
                public boolean isReady() {
                    return true;
                }

                @Override
                public void setReadListener(ReadListener listener) {
                    throw new UnsupportedOperationException("synchronous only");
                }
            };
        }

        @Override
        public java.io.BufferedReader getReader() {
            return new java.io.BufferedReader(new java.io.InputStreamReader(getInputStream(), StandardCharsets.UTF_8));
        }

        @Override
        public int getContentLength() {
            return body.length;
        }

        @Override
        public long getContentLengthLong() {
            return body.length;
        }
    }
}
