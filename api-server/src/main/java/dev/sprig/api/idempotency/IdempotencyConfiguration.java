package dev.sprig.api.idempotency;

import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import tools.jackson.databind.json.JsonMapper;

/** Puts the idempotency filter on /v1, after Spring Security (order -100) has authenticated the caller. */
@Configuration(proxyBeanMethods = false)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
class IdempotencyConfiguration {

    @Bean
    FilterRegistrationBean<IdempotencyFilter> idempotencyFilter(IdempotencyRecords records, JsonMapper json) {
        var registration = new FilterRegistrationBean<>(new IdempotencyFilter(records, json));
        registration.addUrlPatterns("/v1/*");
        registration.setOrder(0);
        return registration;
    }
}
