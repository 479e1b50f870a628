package dev.sprig.client;

import java.util.List;
import org.jspecify.annotations.Nullable;

/** A page of {@code GET /v1/snapshots} or {@code GET /v1/disks/{id}/snapshots}; {@code nextPageToken} is absent on the last. */
public record SnapshotPage(
        List<SnapshotView> items, @Nullable String nextPageToken) {}
