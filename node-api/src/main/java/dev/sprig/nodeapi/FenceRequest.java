package dev.sprig.nodeapi;

import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Positive;

/** Raises a replica set's fence to {@code epoch}; a fence never goes down (decision 011). */
public record FenceRequest(@NotNull @Positive Long epoch) {}
