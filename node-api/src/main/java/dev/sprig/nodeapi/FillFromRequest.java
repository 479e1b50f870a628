package dev.sprig.nodeapi;

import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Positive;
import jakarta.validation.constraints.PositiveOrZero;
import org.jspecify.annotations.Nullable;

/**
 * Heal an lc from its copy on another node: the source (its node's API, token and lc), the PCs to
 * cover ({@code pcCount} of them from {@code firstPc}, {@code pcStride} apart: absent, 1; a stripe
 * column's PCs are the column count apart), and at most how many bytes a second to fetch (absent:
 * as fast as the nodes go).
 */
public record FillFromRequest(
        @NotNull @Valid CopySource source,
        @NotNull @PositiveOrZero Long firstPc,
        @NotNull @Positive Long pcCount,
        @Nullable @Positive Long bytesPerSecond,
        @Nullable @Positive Long pcStride) {

    /** Consecutive PCs. */
    public FillFromRequest(CopySource source, Long firstPc, Long pcCount, @Nullable Long bytesPerSecond) {
        this(source, firstPc, pcCount, bytesPerSecond, null);
    }
}
