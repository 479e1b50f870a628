package dev.sprig.api.idempotency;

import org.jspecify.annotations.Nullable;

/** The first response to a keyed request, as it will be replayed. */
record StoredResponse(
        int status, @Nullable String contentType, @Nullable String location, byte[] body) {}
