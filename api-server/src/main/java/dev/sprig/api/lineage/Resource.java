package dev.sprig.api.lineage;

import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * An image, disk or snapshot. {@code state} is kind-specific (images: queued, importing, available,
 * error, deleting; disks: creating, available, flattening, deleting, error; snapshots: creating,
 * available, deleting, error), guarded by a check constraint.
 *
 * @param sizeBytes always known for disks and snapshots; null for an image imported from a source
 *     until the import has learned its size (so while it is importing, or if it failed)
 * @param labels the client's own labels; none unless it gave some
 */
public record Resource(
        String externId,
        ResourceKind kind,
        String name,
        @Nullable Long sizeBytes,
        String state,
        @Nullable Long lcId,
        @Nullable String sourceExternId,
        long bytesReceived,
        @Nullable String error,
        Instant createdAt,
        Instant updatedAt,
        Labels labels) {}
