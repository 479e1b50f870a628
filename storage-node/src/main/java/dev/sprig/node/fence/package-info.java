/**
 * Fences of the replica sets this node is a member of (decision 011): per set (family, stripe
 * column) the lowest epoch whose data tokens the node still serves. A fence only goes up, is written
 * durably to the node's data directory before a raise returns, and is read back at start-up; the
 * NBD data path asks {@link dev.sprig.node.fence.Fences} on every request. Knows nothing of HTTP.
 */
@NullMarked
package dev.sprig.node.fence;

import org.jspecify.annotations.NullMarked;
