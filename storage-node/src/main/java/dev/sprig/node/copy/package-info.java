/**
 * Node-to-node copy: a range of an lc on another node, read from that node's data API and written
 * into an lc here (the copy made past the clone limit); an lc healed from its copy on another node,
 * segment by segment ({@code :fillFrom}); and the segments a rebuilding lc's live writes need from
 * its rebuild source. Knows the other node's HTTP API as a client, but nothing of the web layer that
 * serves this node's own.
 */
@NullMarked
package dev.sprig.node.copy;

import org.jspecify.annotations.NullMarked;
