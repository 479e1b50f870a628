package dev.sprig.nodeapi;

import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.PositiveOrZero;

/**
 * One segment of a {@link RepairRequest}, numbered across the lc ({@code pc * 16 + segment}): what
 * the lc here held when the replicas were compared ({@code held}), and what the good copy holds
 * ({@code wanted}: {@code DATA} or {@code ZERO}). The segment is replaced only if the lc here still
 * holds {@code held} and the bytes fetched match {@code wanted}: a write since the comparison wins.
 */
public record SegmentRepair(
        @NotNull @PositiveOrZero Long segment,
        @NotNull @Valid SegmentContent held,
        @NotNull @Valid SegmentContent wanted) {}
