package dev.sprig.client;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * {@code POST /v1/disks:batchCreate}: {@code count} clones named {@code namePrefix-0001} …, each
 * with {@code labels}.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record BatchCreate(
        String sourceId,
        int count,
        String namePrefix,
        @Nullable Long sizeBytes,
        @Nullable Map<String, String> labels) {

    public BatchCreate(String sourceId, int count, String namePrefix) {
        this(sourceId, count, namePrefix, null, null);
    }

    public BatchCreate(String sourceId, int count, String namePrefix, @Nullable Long sizeBytes) {
        this(sourceId, count, namePrefix, sizeBytes, null);
    }
}
