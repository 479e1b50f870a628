package dev.sprig.api.lineage;

import org.jspecify.annotations.Nullable;

/**
 * What a listing keeps: every condition given must hold.
 *
 * @param state one state; null keeps all but those being deleted
 * @param namePrefix matched literally (no wildcards)
 * @param sourceId a disk's image, snapshot or disk; a snapshot's disk
 * @param labels every one of these labels, with these values
 * @param sourceUrl images: the URL they were imported from, exactly
 */
public record ResourceFilter(
        @Nullable String state,
        @Nullable String namePrefix,
        @Nullable String sourceId,
        Labels labels,
        @Nullable String sourceUrl) {

    public static final ResourceFilter ALL = new ResourceFilter(null, null, null, Labels.NONE, null);

    public ResourceFilter(
            @Nullable String state, @Nullable String namePrefix, @Nullable String sourceId, Labels labels) {
        this(state, namePrefix, sourceId, labels, null);
    }
}
