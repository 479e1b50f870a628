package dev.sprig.nodeapi;

import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Positive;
import jakarta.validation.constraints.PositiveOrZero;
import org.jspecify.annotations.Nullable;

/** One lc of a {@link BatchDefineRequest}; {@code frozen} absent means not frozen. */
public record LcDefinition(
        @NotNull @PositiveOrZero Long lcId,
        @Nullable @PositiveOrZero Long parentLcId,
        @NotNull @Positive Long sizeBytes,
        @Nullable Boolean frozen) {}
