package dev.sprig.api.web;

import jakarta.servlet.DispatcherType;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.jackson.autoconfigure.JsonMapperBuilderCustomizer;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import tools.jackson.core.JsonParser;
import tools.jackson.databind.DeserializationContext;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.deser.jdk.StringDeserializer;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.module.SimpleModule;

/**
 * What api-server accepts as input, beyond each request's own validation: JSON strings and URL parts
 * obey {@link TextInput}'s rule, and a number with a fraction is not an integer ({@code "count": 1.5}
 * is refused, where Jackson would silently make it 1).
 */
@Configuration(proxyBeanMethods = false)
class InputConfiguration {

    @Bean
    JsonMapperBuilderCustomizer strictJsonInput() {
        return builder -> builder.disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
                .addModule(new SimpleModule("sprig-text-input").addDeserializer(String.class, new TextDeserializer()));
    }

    @Bean
    @ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
    FilterRegistrationBean<TextInputFilter> textInputFilter(JsonMapper json) {
        var registration = new FilterRegistrationBean<>(new TextInputFilter(json));
        // before security and the Idempotency-Key filter, which reads its header from the database
        registration.setOrder(Ordered.HIGHEST_PRECEDENCE + 10);
        registration.setDispatcherTypes(DispatcherType.REQUEST);
        return registration;
    }

    /** Jackson's own string reading, then the rule; a refusal is a 400 like any unreadable body. */
    static final class TextDeserializer extends StringDeserializer {

        @Override
        public String deserialize(JsonParser parser, DeserializationContext context) {
            String value = super.deserialize(parser, context);
            if (!TextInput.acceptable(value)) {
                throw context.weirdStringException(value, String.class, TextInput.RULE);
            }
            return value;
        }
    }
}
