package dev.sprig.api.idempotency;

import dev.sprig.api.database.NoDatasourceUrlCondition;
import java.time.Duration;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import tools.jackson.databind.json.JsonMapper;

/** Puts the idempotency filter on /v1, after Spring Security (order -100) has authenticated the caller. */
@Configuration(proxyBeanMethods = false)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
class IdempotencyConfiguration {

    /**
     * How long a claimed key may wait for its answer before a retry takes it over: longer than any
     * request takes (a bulk clone of 5,000 takes a second or two), short enough that a client whose
     * api-server died can retry the same day.
     */
    static final Duration ABANDONED_AFTER = Duration.ofMinutes(2);

    @Bean
    FilterRegistrationBean<IdempotencyFilter> idempotencyFilter(IdempotencyRecords records, JsonMapper json) {
        var registration = new FilterRegistrationBean<>(new IdempotencyFilter(records, json, ABANDONED_AFTER));
        registration.addUrlPatterns("/v1/*");
        registration.setOrder(0);
        return registration;
    }

    /** An embedded database belongs to this process alone: a claim still waiting is from a run that died. */
    @Bean
    @Conditional(NoDatasourceUrlCondition.class)
    SmartInitializingSingleton releaseUnansweredIdempotencyKeys(IdempotencyRecords records) {
        return () -> {
            int released = records.releaseUnanswered();
            if (released > 0) {
                LoggerFactory.getLogger(IdempotencyConfiguration.class)
                        .info("Released {} Idempotency-Key(s) a previous run claimed and never answered", released);
            }
        };
    }
}
