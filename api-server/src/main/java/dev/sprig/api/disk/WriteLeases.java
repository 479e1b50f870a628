package dev.sprig.api.disk;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.stereotype.Repository;

/** The write_lease table: who holds a disk open for writing, and until when. */
@Repository
class WriteLeases {

    /** A live lease: {@code holder} may write to the disk until {@code expiresAt}. */
    record WriteLease(String holder, Instant expiresAt) {}

    private final JdbcClient jdbc;

    WriteLeases(JdbcClient jdbc) {
        this.jdbc = jdbc;
    }

    /** Takes {@code holder}'s lease on the disk, or moves it to {@code expiresAt} if that is later. */
    void renew(String diskId, String holder, Instant expiresAt) {
        jdbc.sql("""
                        INSERT INTO write_lease (extern_id, holder, expires_at) VALUES (:disk, :holder, :until)
                        ON CONFLICT (extern_id, holder)
                        DO UPDATE SET expires_at = greatest(write_lease.expires_at, excluded.expires_at)""")
                .param("disk", diskId)
                .param("holder", holder)
                .param("until", OffsetDateTime.ofInstant(expiresAt, ZoneOffset.UTC))
                .update();
    }

    /** Ends {@code holder}'s lease; whether it had one. */
    boolean end(String diskId, String holder) {
        return jdbc.sql("DELETE FROM write_lease WHERE extern_id = :disk AND holder = :holder")
                        .param("disk", diskId)
                        .param("holder", holder)
                        .update()
                > 0;
    }

    /** The leases on the disk that have not expired, the longest first; expired ones are removed on the way. */
    List<WriteLease> live(String diskId) {
        jdbc.sql("DELETE FROM write_lease WHERE extern_id = :disk AND expires_at <= now()")
                .param("disk", diskId)
                .update();
        return jdbc.sql("SELECT holder, expires_at FROM write_lease WHERE extern_id = :disk"
                        + " ORDER BY expires_at DESC, holder")
                .param("disk", diskId)
                .query((rs, row) -> new WriteLease(
                        rs.getString("holder"),
                        rs.getObject("expires_at", OffsetDateTime.class).toInstant()))
                .list();
    }
}
