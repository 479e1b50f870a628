package dev.sprig.client;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** {@code POST /v1/disks/{id}/snapshots}. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record CreateSnapshot(String name, @Nullable Map<String, String> labels) {
    public CreateSnapshot(String name) {
        this(name, null);
    }
}
