package dev.sprig.client;

import java.util.List;
import org.jspecify.annotations.Nullable;

/** A page of {@code GET /v1/operations}, newest first; {@code nextPageToken} is absent on the last. */
public record OperationList(
        List<OperationView> items, @Nullable String nextPageToken) {}
