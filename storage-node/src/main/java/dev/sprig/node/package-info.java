/** The storage node application: configuration and the engine it serves. */
@NullMarked
package dev.sprig.node;

import org.jspecify.annotations.NullMarked;
