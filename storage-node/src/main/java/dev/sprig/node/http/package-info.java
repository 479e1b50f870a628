/**
 * The node API over HTTP: control (lc definitions, freeze, delete, grow, flatten, scrub, stats) and
 * data (byte ranges, flush, write-zeroes, trim), bearer-token security and problem+json errors.
 * Controllers translate; the rules live in the engine, in {@code dev.sprig.node.control} and (node-to-node
 * copy) in {@code dev.sprig.node.copy}.
 */
@NullMarked
package dev.sprig.node.http;

import org.jspecify.annotations.NullMarked;
