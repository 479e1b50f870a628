package dev.sprig.nodeapi;

import jakarta.validation.constraints.NotNull;
import java.util.List;

/**
 * The segments of an lc being caught up that differ from its source (decision 012), numbered across
 * the lc ({@code pc * 16 + segment}): the body of {@code POST /v1/lcs/{id}/rebuildSource/suspects}.
 */
public record SuspectSegments(@NotNull List<@NotNull Long> segments) {

    public SuspectSegments {
        segments = List.copyOf(segments);
    }
}
