package dev.sprig.client;

import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * Long-running work ({@code GET /v1/operations/{id}}): an import, a batch clone that waits for one, a
 * flatten, a recovery of a replica set. {@code state} is {@code running}, {@code succeeded} or
 * {@code failed}; {@code done} of {@code total} {@code unit}s is its progress, and while it runs
 * {@code ratePerSecond} and {@code estimatedSecondsLeft} say how fast it goes (absent until known).
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

    public boolean running() {
        return state.equals("running");
    }

    public boolean succeeded() {
        return state.equals("succeeded");
    }
}
