package dev.sprig.client;

import java.util.List;

/** {@code GET /v1/images/{id}/descendants}: every disk and snapshot that reads from the image. */
public record Descendants(String externId, List<String> descendants) {}
