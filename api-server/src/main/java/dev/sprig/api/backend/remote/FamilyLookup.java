package dev.sprig.api.backend.remote;

import dev.sprig.api.error.SprigException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.jdbc.core.simple.JdbcClient;

/**
 * The family of an lc, which decides its nodes. A family never changes (not even by a flatten), so
 * answers are kept; the map is dropped whole when it grows past a bound rather than evicted finely.
 */
final class FamilyLookup {

    private static final int BOUND = 1_000_000;

    private final JdbcClient jdbc;
    private final Map<Long, Long> families = new ConcurrentHashMap<>();

    FamilyLookup(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    long of(long lcId) {
        return known(lcId).orElseThrow(() -> SprigException.notFound("lc " + lcId));
    }

    Optional<Long> known(long lcId) {
        Long family = families.get(lcId);
        if (family != null) {
            return Optional.of(family);
        }
        Optional<Long> found = jdbc.sql("SELECT family_id FROM lc WHERE lc_id = :lc")
                .param("lc", lcId)
                .query(Long.class)
                .optional();
        found.ifPresent(value -> remember(lcId, value));
        return found;
    }

    void remember(long lcId, long familyId) {
        if (families.size() > BOUND) {
            families.clear();
        }
        families.put(lcId, familyId);
    }

    void forget(long lcId) {
        families.remove(lcId);
    }

    /** The families of {@code lcIds} that exist, those not known yet read in one query. */
    Map<Long, Long> of(Collection<Long> lcIds) {
        Map<Long, Long> found = new HashMap<>();
        List<Long> unknown = new ArrayList<>();
        for (long lcId : lcIds) {
            Long family = families.get(lcId);
            if (family != null) {
                found.put(lcId, family);
            } else {
                unknown.add(lcId);
            }
        }
        if (!unknown.isEmpty()) {
            jdbc.sql("SELECT lc_id, family_id FROM lc WHERE lc_id = ANY(:lcs)")
                    .param("lcs", unknown.toArray(Long[]::new))
                    .query(rs -> {
                        long lcId = rs.getLong("lc_id");
                        long family = rs.getLong("family_id");
                        remember(lcId, family);
                        found.put(lcId, family);
                    });
        }
        return found;
    }
}
