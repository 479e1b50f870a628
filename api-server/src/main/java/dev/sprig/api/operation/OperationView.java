package dev.sprig.api.operation;

import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * An operation as the API shows it.
 *
 * @param kind {@code flatten}, {@code import}, or {@code clone} (a bulk clone waiting for its image's
 *     import)
 * @param targetId the extern_id of the resource it works on
 * @param state {@code running}, {@code succeeded} or {@code failed} (a cancelled operation is failed)
 * @param done units done so far; never goes backwards
 * @param total units in all; {@code done == total} once succeeded
 * @param unit what {@code done} and {@code total} count: {@code pcs} (4 MiB physical chunks) for a
 *     flatten, {@code bytes} (of the image) for an import, {@code disks} for a clone
 * @param error why it failed, when it failed
 * @param errorCode the failure's stable problem code, when it has one: {@code CANCELLED} when a client
 *     cancelled it, {@code ATTEMPTS_EXHAUSTED} when its runs kept ending with api-server before it
 *     finished, {@code CACHE_FULL} when the cache had no room for an import
 * @param finishedAt when it succeeded or failed
 */
public record OperationView(
        String id,
        String kind,
        String targetId,
        String state,
        long done,
        long total,
        String unit,
        @Nullable String error,
        @Nullable String errorCode,
        Instant createdAt,
        Instant updatedAt,
        @Nullable Instant finishedAt) {

    public static OperationView of(Operation operation) {
        return new OperationView(
                operation.id(),
                operation.kind().column(),
                operation.targetId(),
                operation.state().column(),
                operation.done(),
                operation.total(),
                operation.kind().unit(),
                operation.error(),
                operation.errorCode(),
                operation.createdAt(),
                operation.updatedAt(),
                operation.finishedAt());
    }
}
