package dev.sprig.nodeapi;

import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.PositiveOrZero;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The body of {@code PUT /v1/lcs/{id}/rebuildSource}: lc {@code lcId} on the node API at {@code
 * endpoint} (with that node's token), and the sources to try after it, in order, when it does not
 * deliver ({@code alternates}: the lc on the other in-sync members; none when absent), so that a
 * source node that dies in the middle of a rebuild fails no live write. A catch-up uses the first
 * source only.
 */
public record RebuildSourceRequest(
        @NotNull String endpoint,
        @NotNull String token,
        @NotNull @PositiveOrZero Long lcId,
        @Nullable @Valid List<CopySource> alternates) {}
