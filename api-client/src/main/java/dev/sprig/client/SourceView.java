package dev.sprig.client;

import org.jspecify.annotations.Nullable;

/** An imported image's source, as given at its creation. */
public record SourceView(
        String url, String format, @Nullable String sha256) {}
