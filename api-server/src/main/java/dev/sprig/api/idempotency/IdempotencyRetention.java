package dev.sprig.api.idempotency;

import dev.sprig.api.SprigApiProperties;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.simple.JdbcClient;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * Answered keys are kept for {@code sprig.api.idempotency-retention} (24 h): long enough for any
 * client's retries, short enough that a fleet launched every day does not grow the table for ever.
 * A retry after that runs again.
 */
@Component
public class IdempotencyRetention {

    private static final Logger log = LoggerFactory.getLogger(IdempotencyRetention.class);

    private final JdbcClient jdbc;
    private final Duration retention;

    IdempotencyRetention(JdbcClient jdbc, SprigApiProperties properties) {
        this.jdbc = jdbc;
        this.retention = properties.idempotencyRetention();
    }

    /** Forgets answered keys older than the retention; returns how many. */
    @Scheduled(initialDelayString = "PT10M", fixedDelayString = "PT1H")
    public int purge() {
        int purged = jdbc.sql("DELETE FROM idempotency_key WHERE status IS NOT NULL"
                        + " AND created_at < now() - make_interval(secs => :retention)")
                .param("retention", retention.toSeconds())
                .update();
        if (purged > 0) {
            log.info("Forgot {} Idempotency-Key(s) answered more than {} ago", purged, retention);
        }
        return purged;
    }
}
