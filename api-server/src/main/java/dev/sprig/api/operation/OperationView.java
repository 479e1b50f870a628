package dev.sprig.api.operation;

import java.time.Duration;
import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * An operation as the API shows it.
 *
 * @param kind {@code flatten}, {@code import}, {@code clone} (a bulk clone waiting for its image's
 *     import), {@code copy} (another copy of an image), {@code recovery} (a replica set's new member
 *     rebuilt from an in-sync one; its target is {@code rs-<family>-<column>}) or {@code scrub} (a
 *     replica scrub; its target is {@code replica-sets})
 * @param targetId the extern_id of the resource it works on
 * @param state {@code running}, {@code succeeded} or {@code failed} (a cancelled operation is failed)
 * @param done units done so far; never goes backwards
 * @param total units in all; {@code done == total} once succeeded
 * @param unit what {@code done} and {@code total} count: {@code pcs} (4 MiB physical chunks) for a
 *     flatten, {@code bytes} (of the image) for an import, {@code disks} for a clone, {@code bytes}
 *     (of the column's segments) for a recovery, {@code sets} (replica sets compared) for a scrub
 * @param error why it failed, when it failed
 * @param errorCode the failure's stable problem code, when it has one: {@code CANCELLED} when a client
 *     cancelled it, {@code ATTEMPTS_EXHAUSTED} when its runs kept ending with api-server before it
 *     finished, {@code CACHE_FULL} when the cache had no room for an import
 * @param finishedAt when it succeeded or failed
 * @param ratePerSecond while running, units done a second on average since it was created; null
 *     before the first unit
 * @param estimatedSecondsLeft while running, what is left at that rate; null before the first unit
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
        @Nullable Instant finishedAt,
        @Nullable Long ratePerSecond,
        @Nullable Long estimatedSecondsLeft) {

    public static OperationView of(Operation operation) {
        @Nullable Long rate = null;
        @Nullable Long left = null;
        long millis =
                Duration.between(operation.createdAt(), operation.updatedAt()).toMillis();
        if (operation.state() == Operation.State.RUNNING && operation.done() > 0 && millis > 0) {
            rate = Math.max(1, operation.done() * 1000 / millis);
            left = (operation.total() - operation.done()) / rate;
        }
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
                operation.finishedAt(),
                rate,
                left);
    }
}
