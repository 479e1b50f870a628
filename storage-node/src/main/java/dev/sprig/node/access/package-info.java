/**
 * Data tokens: what a client presents to open one lc's NBD export, signed by api-server and checked
 * by the node with a key both derive from the node token, so that the node needs no database call
 * and a client never holds the node token. Shared by both sides, so the format is defined once.
 */
@NullMarked
package dev.sprig.node.access;

import org.jspecify.annotations.NullMarked;
