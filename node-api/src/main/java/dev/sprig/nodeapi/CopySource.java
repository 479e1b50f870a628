package dev.sprig.nodeapi;

import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.PositiveOrZero;

/** The lc a {@link CopyFromRequest} reads, and the node API (with its token) that holds it. */
public record CopySource(
        @NotNull String endpoint,
        @NotNull String token,
        @NotNull @PositiveOrZero Long lcId) {}
