package dev.sprig.api.leader;

import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/** Says whether this instance leads; a follower is as healthy as the leader, so it is always UP. */
final class LeadershipHealthIndicator implements HealthIndicator {

    private final Leadership leadership;

    LeadershipHealthIndicator(Leadership leadership) {
        this.leadership = leadership;
    }

    @Override
    public Health health() {
        return Health.up().withDetail("leader", leadership.leads()).build();
    }
}
