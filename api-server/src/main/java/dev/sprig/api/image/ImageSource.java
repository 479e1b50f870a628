package dev.sprig.api.image;

import org.jspecify.annotations.Nullable;

/**
 * Where an imported image's bytes come from.
 *
 * @param url a {@code file:}, {@code http:} or {@code https:} URL, one of the allowed prefixes
 * @param sha256 the SHA-256 of the bytes at {@code url} (64 lowercase hex digits), checked by the
 *     import when given
 */
public record ImageSource(
        String url, ImageFormat format, @Nullable String sha256) {}
