package dev.sprig.nodeapi;

import java.time.Instant;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A snapshot of one piece of background work.
 *
 * @param kind {@code flatten} or {@code scrub}
 * @param lcId the lc being flattened; null for a scrub of the whole node
 * @param state running, succeeded or failed
 * @param done units done (PCs for flatten, segments checked for scrub)
 * @param total units to do, when known (0 while a scrub is counting)
 * @param error the failure's code and message when failed
 * @param damaged the segments a finished scrub found damaged
 */
public record Job(
        String kind,
        @Nullable Long lcId,
        State state,
        long done,
        long total,
        Instant startedAt,
        @Nullable Instant finishedAt,
        @Nullable String error,
        List<DamagedSegment> damaged) {

    public enum State {
        RUNNING,
        SUCCEEDED,
        FAILED
    }
}
