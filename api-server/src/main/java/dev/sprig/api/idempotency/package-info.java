/** Idempotency-Key on POSTs: a retried request gets the first response instead of a second effect. */
@NullMarked
package dev.sprig.api.idempotency;

import org.jspecify.annotations.NullMarked;
