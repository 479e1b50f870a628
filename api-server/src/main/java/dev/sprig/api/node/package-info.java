/**
 * The node registry: storage nodes register and heartbeat, operators drain them. Where families
 * live is {@code dev.sprig.api.placement}'s.
 */
@NullMarked
package dev.sprig.api.node;

import org.jspecify.annotations.NullMarked;
