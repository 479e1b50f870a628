/**
 * Re-replication (decision 012): the leader replaces a replica-set member whose node is down by a
 * new node, which joins as {@code rebuilding}, is filled node to node from an in-sync member as a
 * {@code recovery} operation, and becomes {@code in_sync} once its copy is complete and verified.
 */
@NullMarked
package dev.sprig.api.recovery;

import org.jspecify.annotations.NullMarked;
