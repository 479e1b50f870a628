package dev.sprig.nodeapi;

import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Size;
import java.util.List;

/**
 * Repair segments of an lc from its copy on another node (a replica scrub): the source (its node's
 * API, token and lc) and at most 1024 segments: the body of {@code POST /v1/lcs/{id}:repair}.
 */
public record RepairRequest(
        @NotNull @Valid CopySource source,
        @NotNull @Size(max = 1024) List<@NotNull @Valid SegmentRepair> segments) {

    public RepairRequest {
        segments = List.copyOf(segments);
    }
}
