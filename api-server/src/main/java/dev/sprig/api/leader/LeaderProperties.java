package dev.sprig.api.leader;

import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Everything the leader election reads from {@code sprig.leader.*}, with its defaults.
 *
 * @param checkInterval how often an instance that does not lead tries to take the lock, and how
 *     often the leader checks that the connection holding it is alive; a takeover after the leader
 *     dies takes about this long (its PostgreSQL connection closes with the process)
 */
@ConfigurationProperties("sprig.leader")
public record LeaderProperties(@DefaultValue("1s") Duration checkInterval) {}
