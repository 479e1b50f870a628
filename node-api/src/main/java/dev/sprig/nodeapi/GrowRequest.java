package dev.sprig.nodeapi;

import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Positive;

public record GrowRequest(@NotNull @Positive Long sizeBytes) {}
