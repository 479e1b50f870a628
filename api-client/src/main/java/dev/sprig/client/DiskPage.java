package dev.sprig.client;

import java.util.List;
import org.jspecify.annotations.Nullable;

/** A page of {@code GET /v1/disks}; {@code nextPageToken} is absent on the last. */
public record DiskPage(List<DiskView> items, @Nullable String nextPageToken) {}
