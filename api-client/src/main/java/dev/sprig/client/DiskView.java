package dev.sprig.client;

import java.time.Instant;
import org.jspecify.annotations.Nullable;

/** A disk. {@code sourceId} is the image or snapshot it was cloned from, while that exists. */
public record DiskView(
        String externId,
        String name,
        long sizeBytes,
        String state,
        @Nullable String sourceId,
        @Nullable Long lcId,
        Instant createdAt,
        Instant updatedAt) {}
