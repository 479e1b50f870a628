package dev.sprig.client;

import org.jspecify.annotations.Nullable;

/**
 * A member of a replica set.
 *
 * @param state one of {@code in_sync} (has every acknowledged write; takes writes and serves reads),
 *     {@code rebuilding} (a new member being filled by a background copy, issue 20: takes every
 *     write, but serves no reads nor block status until it is {@code in_sync}; its failure does not
 *     count against min-in-sync) or {@code stale} (dropped; serves nothing). A client must treat a
 *     state it does not know like {@code stale}
 * @param nbd in an attachment, for an {@code in_sync} or {@code rebuilding} member:
 *     {@code nbd://host:port/<dataToken>/<lcId>}, a token for this column at this epoch; null for a
 *     stale member and outside attachments
 */
public record ReplicaMemberView(
        String nodeId, String state, @Nullable String nbd) {}
