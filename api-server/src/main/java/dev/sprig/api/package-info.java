/** The Sprig api-server: the management plane, packaged by feature. */
@NullMarked
package dev.sprig.api;

import org.jspecify.annotations.NullMarked;
