package dev.sprig.api.disk;

import dev.sprig.api.lineage.Labels;
import org.jspecify.annotations.Nullable;

/** What a bulk clone waiting for its image's import will create. */
record CloneRequest(String namePrefix, int count, @Nullable Long sizeBytes, Labels labels) {}
