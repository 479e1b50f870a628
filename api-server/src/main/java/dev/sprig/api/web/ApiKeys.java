package dev.sprig.api.web;

import dev.sprig.api.SprigApiProperties;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.authority.SimpleGrantedAuthority;
import org.springframework.stereotype.Component;

/**
 * The bearer keys api-server accepts. Keys come from {@code sprig.api.api-keys}; when none is
 * configured, one is generated at start-up and logged once, so that the default run is never open.
 * A request's principal is a short digest of its key, never the key itself.
 */
@Component
public class ApiKeys {

    private static final Logger log = LoggerFactory.getLogger(ApiKeys.class);

    /** What a client key may do: every resource call. Admin keys are client keys too. */
    public static final String CLIENT = "CLIENT";

    /** What only an admin key may do: the node registry, evictions, scrubs. */
    public static final String ADMIN = "ADMIN";

    /** What a metrics key may do: read /actuator/prometheus, nothing else. */
    public static final String METRICS = "METRICS";

    /** Who presented a key: a short digest of it, and what the key may do. */
    record Caller(String principal, List<String> roles) {}

    private final List<byte[]> clientKeys;
    private final List<byte[]> adminKeys;
    private final List<byte[]> metricsKeys;

    ApiKeys(SprigApiProperties properties) {
        this.clientKeys = configuredOrGenerated(properties.apiKeys(), "sprig.api.api-keys", "client");
        this.adminKeys = configuredOrGenerated(properties.adminKeys(), "sprig.api.admin-keys", "admin");
        // none generated: without one, Prometheus scrapes with a client key
        this.metricsKeys = properties.metricsKeys().stream()
                .filter(key -> !key.isBlank())
                .map(key -> key.getBytes(StandardCharsets.UTF_8))
                .toList();
    }

    private static List<byte[]> configuredOrGenerated(List<String> keys, String property, String kind) {
        List<String> configured = keys.stream().filter(key -> !key.isBlank()).toList();
        if (configured.isEmpty()) {
            byte[] random = new byte[32];
            new SecureRandom().nextBytes(random);
            String generated =
                    "sprig_" + Base64.getUrlEncoder().withoutPadding().encodeToString(random);
            log.warn("No {} configured; this run accepts the generated {} key: {}", property, kind, generated);
            configured = List.of(generated);
        }
        return configured.stream()
                .map(key -> key.getBytes(StandardCharsets.UTF_8))
                .toList();
    }

    /** The caller behind a presented key, if it is one of ours (compared in constant time). */
    Optional<Caller> callerOf(String presented) {
        byte[] candidate = presented.getBytes(StandardCharsets.UTF_8);
        boolean admin = matchesAny(adminKeys, candidate);
        boolean client = matchesAny(clientKeys, candidate);
        boolean metrics = matchesAny(metricsKeys, candidate);
        List<String> roles = new ArrayList<>();
        if (admin || client) {
            roles.add(CLIENT);
        }
        if (admin) {
            roles.add(ADMIN);
        }
        if (metrics) {
            roles.add(METRICS);
        }
        return roles.isEmpty() ? Optional.empty() : Optional.of(new Caller("key-" + digest(candidate), roles));
    }

    /**
     * The principal a presented key signs in as, with its roles ({@link #CLIENT}, and {@link #ADMIN}
     * for an admin key; {@link #METRICS} for a metrics key), as the API's bearer keys and the
     * console's sign-in both take it.
     */
    public Optional<Authentication> authenticate(String presented) {
        return callerOf(presented)
                .map(caller -> UsernamePasswordAuthenticationToken.authenticated(
                        caller.principal(),
                        null,
                        caller.roles().stream()
                                .map(role -> new SimpleGrantedAuthority("ROLE_" + role))
                                .toList()));
    }

    /** Whether {@code who} (signed in by a key, or not at all) has {@code role}. */
    public static boolean has(@Nullable Authentication who, String role) {
        return who != null
                && who.getAuthorities().stream()
                        .anyMatch(granted -> granted.getAuthority().equals("ROLE_" + role));
    }

    private static boolean matchesAny(List<byte[]> keys, byte[] candidate) {
        boolean match = false;
        for (byte[] key : keys) {
            match |= MessageDigest.isEqual(key, candidate);
        }
        return match;
    }

    private static String digest(byte[] key) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key), 0, 6);
        } catch (NoSuchAlgorithmException impossible) {
            throw new IllegalStateException(impossible);
        }
    }
}
