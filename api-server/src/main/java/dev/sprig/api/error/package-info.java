/** The failures api-server reports, each with a stable code; the web layer maps them to HTTP in one place. */
@NullMarked
package dev.sprig.api.error;

import org.jspecify.annotations.NullMarked;
