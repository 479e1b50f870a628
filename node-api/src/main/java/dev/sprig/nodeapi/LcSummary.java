package dev.sprig.nodeapi;

import org.jspecify.annotations.Nullable;

/** An lc without its statistics: what api-server compares with its database. */
public record LcSummary(long lcId, @Nullable Long parentLcId, long sizeBytes, boolean frozen) {}
