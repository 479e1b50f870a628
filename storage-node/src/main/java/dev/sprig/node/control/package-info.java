/**
 * The node's control rules above the engine: defining lcs in idempotent batches and running long work
 * (flatten, scrub) in the background with progress. Knows nothing of HTTP.
 */
@NullMarked
package dev.sprig.node.control;

import org.jspecify.annotations.NullMarked;
