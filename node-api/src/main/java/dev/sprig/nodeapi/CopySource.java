package dev.sprig.nodeapi;

import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.PositiveOrZero;

/**
 * An lc on another node, and that node's API (with its token): what a {@link CopyFromRequest} or a
 * {@link FillFromRequest} reads, and the body of {@code PUT /v1/lcs/{id}/rebuildSource}.
 */
public record CopySource(
        @NotNull String endpoint,
        @NotNull String token,
        @NotNull @PositiveOrZero Long lcId) {}
