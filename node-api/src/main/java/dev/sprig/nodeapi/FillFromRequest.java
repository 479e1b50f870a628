package dev.sprig.nodeapi;

import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Positive;
import jakarta.validation.constraints.PositiveOrZero;
import org.jspecify.annotations.Nullable;

/**
 * Heal an lc from its copy on another node: the source (its node's API, token and lc), the PCs to
 * cover, and at most how many bytes a second to fetch (absent: as fast as the nodes go).
 */
public record FillFromRequest(
        @NotNull @Valid CopySource source,
        @NotNull @PositiveOrZero Long firstPc,
        @NotNull @Positive Long pcCount,
        @Nullable @Positive Long bytesPerSecond) {}
