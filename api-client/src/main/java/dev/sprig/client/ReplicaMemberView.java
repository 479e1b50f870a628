package dev.sprig.client;

import org.jspecify.annotations.Nullable;

/**
 * A member of a replica set.
 *
 * @param state {@code in_sync} (has every acknowledged write; serves I/O) or {@code stale}
 *     (dropped; serves nothing)
 * @param nbd in an attachment, for an {@code in_sync} member: {@code nbd://host:port/<dataToken>/<lcId>},
 *     a token for this column at this epoch; null for a stale member and outside attachments
 */
public record ReplicaMemberView(
        String nodeId, String state, @Nullable String nbd) {}
