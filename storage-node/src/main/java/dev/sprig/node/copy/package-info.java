/**
 * Node-to-node copy: a range of an lc on another node, read from that node's data API and written
 * into an lc here (the copy made past the clone limit). Knows the other node's HTTP API as a client,
 * but nothing of the web layer that serves this node's own.
 */
@NullMarked
package dev.sprig.node.copy;

import org.jspecify.annotations.NullMarked;
