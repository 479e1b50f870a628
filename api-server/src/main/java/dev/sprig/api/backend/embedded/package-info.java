/** The default backend: the chunk engine inside api-server, so that one process is a whole system. */
@NullMarked
package dev.sprig.api.backend.embedded;

import org.jspecify.annotations.NullMarked;
