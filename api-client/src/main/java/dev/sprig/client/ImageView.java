package dev.sprig.client;

import java.time.Instant;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * An image. A created one answers 201 (upload next) or, with a source, 202 with the {@code
 * operationId} of its import.
 */
public record ImageView(
        String externId,
        String name,
        @Nullable Long sizeBytes,
        String state,
        long bytesReceived,
        @Nullable Long lcId,
        @Nullable String error,
        @Nullable SourceView source,
        @Nullable String operationId,
        boolean cached,
        boolean pinned,
        int copies,
        long cloneCount,
        @Nullable Instant lastUsedAt,
        Instant createdAt,
        Instant updatedAt,
        Map<String, String> labels) {

    public ImageView {
        labels = labels == null ? Map.of() : Map.copyOf(labels);
    }
}
