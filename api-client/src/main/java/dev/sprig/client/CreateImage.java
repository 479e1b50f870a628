package dev.sprig.client;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * {@code POST /v1/images}: an image whose bytes are uploaded next ({@code sizeBytes}), or one that
 * api-server imports from a {@code source}.
 *
 * @param format {@code raw} or {@code qcow2}, of a source
 * @param sha256 of a source's bytes, checked by the import
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record CreateImage(
        String name,
        @Nullable Long sizeBytes,
        @Nullable SourceRequest source,
        @Nullable String format,
        @Nullable String sha256,
        @Nullable Map<String, String> labels) {

    /** An image of {@code sizeBytes} whose file is uploaded next ({@code PUT /v1/images/{id}/file}). */
    public static CreateImage upload(String name, long sizeBytes) {
        return new CreateImage(name, sizeBytes, null, null, null, null);
    }

    /** An image api-server imports from {@code url}, in {@code format} ({@code null}: api-server's default). */
    public static CreateImage from(String name, String url, @Nullable String format) {
        return new CreateImage(name, null, new SourceRequest(url), format, null, null);
    }
}
