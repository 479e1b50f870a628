package dev.sprig.client;

import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * An RFC 9457 problem+json answer, with api-server's stable {@code code}: the contract's {@code
 * Problem}, the body of every 4XX and 5XX.
 *
 * @param type absent (about:blank): api-server sets none
 * @param instance the request's path ({@code /error} for a failure in a servlet filter); absent when a
 *     filter refused the request itself (authentication, Idempotency-Key)
 * @param dependents with {@code HAS_DEPENDENTS}: what still reads from the resource
 * @param node with {@code NODE_UNAVAILABLE}: the storage node that did not answer
 * @param outcome with {@code DATABASE_UNAVAILABLE}: {@code not_applied} or {@code unknown}
 */
public record Problem(
        @Nullable String type,
        String title,
        int status,
        @Nullable String detail,
        @Nullable String instance,
        String code,
        @Nullable List<String> dependents,
        @Nullable String node,
        @Nullable String outcome) {}
