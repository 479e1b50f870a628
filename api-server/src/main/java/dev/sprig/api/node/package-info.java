/**
 * The node registry: storage nodes register and heartbeat, operators drain them, and each lc family
 * is placed on a stripe of nodes once, when its root is defined.
 */
@NullMarked
package dev.sprig.api.node;

import org.jspecify.annotations.NullMarked;
