package dev.sprig.client;

import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * {@code PATCH /v1/images|disks|snapshots/{id}}: a JSON merge patch of labels (a key with a value
 * sets it, a key with null removes it, the others stay).
 */
public record UpdateLabels(Map<String, @Nullable String> labels) {}
