package dev.sprig.client;

import java.time.Instant;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A disk. {@code sourceId} is the image or snapshot it was cloned from, while that exists;
 * {@code replicas} is where its copies are, on the nodes backend (null on the embedded one).
 */
public record DiskView(
        String externId,
        String name,
        long sizeBytes,
        String state,
        @Nullable String sourceId,
        @Nullable Long lcId,
        Instant createdAt,
        Instant updatedAt,
        @Nullable DiskReplicas replicas,
        Map<String, String> labels) {

    public DiskView {
        labels = labels == null ? Map.of() : Map.copyOf(labels);
    }
}
