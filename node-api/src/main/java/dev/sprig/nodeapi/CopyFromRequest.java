package dev.sprig.nodeapi;

import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Positive;
import jakarta.validation.constraints.PositiveOrZero;

/** A range of an lc on another node to copy here: its node's API and token, and the range. */
public record CopyFromRequest(
        @NotNull @Valid CopySource source,
        @NotNull @PositiveOrZero Long offset,
        @NotNull @Positive Long length) {}
