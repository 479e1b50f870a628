package dev.sprig.api.leader;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.MeterBinder;
import javax.sql.DataSource;
import org.springframework.boot.sql.init.dependency.DependsOnDatabaseInitialization;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The leadership of this instance, started while the context is built (so that a lone instance
 * leads before any start-up work asks), with its health contributor and its gauge.
 */
@Configuration(proxyBeanMethods = false)
class LeaderConfiguration {

    /** After Flyway: the lock is keyed by the schema, which must exist by then. */
    @Bean(initMethod = "start", destroyMethod = "close")
    @DependsOnDatabaseInitialization
    Leadership leadership(DataSource dataSource, LeaderProperties properties) {
        return new Leadership(dataSource, properties.checkInterval());
    }

    /** Health component {@code leadership}: always UP (a follower is healthy), with {@code leader: true|false}. */
    @Bean
    LeadershipHealthIndicator leadershipHealthIndicator(Leadership leadership) {
        return new LeadershipHealthIndicator(leadership);
    }

    /** {@code sprig_leader}: 1 while this instance leads, 0 otherwise. */
    @Bean
    MeterBinder leaderGauge(Leadership leadership) {
        return registry -> Gauge.builder("sprig.leader", leadership, lead -> lead.leads() ? 1 : 0)
                .description("1 while this api-server instance holds the leader lock and runs operations")
                .register(registry);
    }
}
