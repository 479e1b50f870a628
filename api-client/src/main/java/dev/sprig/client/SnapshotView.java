package dev.sprig.client;

import java.time.Instant;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** A snapshot: the frozen lc a disk wrote to until it was taken. */
public record SnapshotView(
        String externId,
        String name,
        long sizeBytes,
        String state,
        @Nullable String diskId,
        @Nullable Long lcId,
        Instant createdAt,
        Map<String, String> labels) {

    public SnapshotView {
        labels = labels == null ? Map.of() : Map.copyOf(labels);
    }
}
