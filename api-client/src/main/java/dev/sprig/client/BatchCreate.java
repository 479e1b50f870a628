package dev.sprig.client;

import com.fasterxml.jackson.annotation.JsonInclude;
import org.jspecify.annotations.Nullable;

/** {@code POST /v1/disks:batchCreate}: {@code count} clones named {@code namePrefix-0001} …. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record BatchCreate(
        String sourceId,
        int count,
        String namePrefix,
        @Nullable Long sizeBytes) {

    public BatchCreate(String sourceId, int count, String namePrefix) {
        this(sourceId, count, namePrefix, null);
    }
}
