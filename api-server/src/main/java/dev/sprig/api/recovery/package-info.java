/**
 * Re-replication (decision 012): the leader replaces a replica-set member whose node is down by a
 * new node, which joins as {@code rebuilding}, is filled node to node from an in-sync member as a
 * {@code recovery} operation, and becomes {@code in_sync} once its copy is complete and verified.
 * Drain moves the members of a draining node the same way, the old member staying in sync meanwhile.
 * A stale member whose node is up again is caught up instead, on its own node ({@code CatchUpWork}):
 * it rejoins as rebuilding and copies only the segments that differ from an in-sync member.
 */
@NullMarked
package dev.sprig.api.recovery;

import org.jspecify.annotations.NullMarked;
