/** What a node reports to Prometheus about its data path, whichever port the I/O came through. */
@NullMarked
package dev.sprig.node.metrics;

import org.jspecify.annotations.NullMarked;
