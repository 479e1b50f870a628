package dev.sprig.client;

import java.util.List;
import org.jspecify.annotations.Nullable;

/** A page of {@code GET /v1/images}; {@code nextPageToken} is absent on the last. */
public record ImagePage(List<ImageView> items, @Nullable String nextPageToken) {}
