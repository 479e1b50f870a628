package dev.sprig.nodeapi;

import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Size;
import java.util.List;

/** Parents come before their children (or already exist); the batch applies whole or not at all. */
public record BatchDefineRequest(
        @NotNull @Size(min = 1, max = BatchDefineRequest.MAX_BATCH)
        List<@NotNull @Valid LcDefinition> lcs) {

    /** One request carries a whole bulk clone: thousands of lcs. */
    public static final int MAX_BATCH = 10_000;
}
