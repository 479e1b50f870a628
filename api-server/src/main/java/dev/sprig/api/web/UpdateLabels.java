package dev.sprig.api.web;

import jakarta.validation.constraints.NotNull;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A {@code PATCH} of an image's, disk's or snapshot's labels, as a JSON merge patch (RFC 7396): a
 * key with a value sets that label, a key with null removes it, labels not named stay.
 */
public record UpdateLabels(@NotNull Map<String, @Nullable String> labels) {}
