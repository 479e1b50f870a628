package dev.sprig.api.lineage;

import java.util.List;
import org.jspecify.annotations.Nullable;

/** One page of a listing and the token of the next one (null on the last page). */
public record ResourcePage(List<Resource> items, @Nullable String nextPageToken) {}
