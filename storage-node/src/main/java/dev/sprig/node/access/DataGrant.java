package dev.sprig.node.access;

import java.time.Instant;

/** What a data token grants: {@code access} to lc {@code lcId} until {@code expiresAt} (whole seconds). */
public record DataGrant(long lcId, DataAccess access, Instant expiresAt) {

    public DataGrant {
        if (lcId <= 0) {
            throw new IllegalArgumentException("an lc id is positive: " + lcId);
        }
        expiresAt = Instant.ofEpochSecond(expiresAt.getEpochSecond());
    }

    public boolean expiredAt(Instant now) {
        return !now.isBefore(expiresAt);
    }
}
