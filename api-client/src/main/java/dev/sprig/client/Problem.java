package dev.sprig.client;

import org.jspecify.annotations.Nullable;

/**
 * An RFC 9457 problem+json answer, with api-server's stable {@code code}. Not in
 * openapi/sprig-api.json (api-server documents no error bodies), hence the RFC's fields only and
 * every one optional.
 */
public record Problem(
        @Nullable String type,
        @Nullable String title,
        @Nullable Integer status,
        @Nullable String detail,
        @Nullable String instance,
        @Nullable String code) {}
