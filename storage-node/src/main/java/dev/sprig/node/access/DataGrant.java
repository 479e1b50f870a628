package dev.sprig.node.access;

import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * What a data token grants: {@code access} to lc {@code lcId} until {@code expiresAt} (whole
 * seconds); through the replica set and epoch {@code replica} on storage nodes, null where nothing
 * is fenced (the embedded backend's single copy).
 */
public record DataGrant(
        long lcId,
        DataAccess access,
        Instant expiresAt,
        @Nullable ReplicaEpoch replica) {

    /** A grant fenced by nothing. */
    public DataGrant(long lcId, DataAccess access, Instant expiresAt) {
        this(lcId, access, expiresAt, null);
    }

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
