/**
 * What a node does for an lc being rebuilt from another copy (decision 012): it keeps the lc's
 * rebuild source ({@link dev.sprig.node.rebuild.RebuildSources}, in memory), and its live write path
 * ({@link dev.sprig.node.rebuild.LiveWrites}) fills a segment the lc does not hold yet from that
 * source's resolved bytes before a write that covers only part of it, and marks the segments a zero
 * write covers zero explicitly. For an lc being caught up (its replica returned after missing
 * writes) it also keeps the lc's {@link dev.sprig.node.rebuild.CatchUp} state: the segments it may
 * hold old versions of, replaced whole from the source before a write merges with them, and by the
 * catch-up's fill. Reading the source is the {@link dev.sprig.node.rebuild.SegmentSource}
 * port; the node's HTTP client of another node implements it, so this package knows no HTTP.
 */
@NullMarked
package dev.sprig.node.rebuild;

import org.jspecify.annotations.NullMarked;
