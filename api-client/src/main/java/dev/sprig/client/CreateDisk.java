package dev.sprig.client;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** {@code POST /v1/disks}: a clone of an image or snapshot; {@code sizeBytes} grows it. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record CreateDisk(
        String name,
        String sourceId,
        @Nullable Long sizeBytes,
        @Nullable Map<String, String> labels) {

    public CreateDisk(String name, String sourceId) {
        this(name, sourceId, null, null);
    }

    public CreateDisk(String name, String sourceId, @Nullable Long sizeBytes) {
        this(name, sourceId, sizeBytes, null);
    }
}
