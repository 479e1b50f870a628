package dev.sprig.api.web;

import io.swagger.v3.oas.models.Components;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.info.Info;
import io.swagger.v3.oas.models.info.License;
import io.swagger.v3.oas.models.media.StringSchema;
import io.swagger.v3.oas.models.parameters.HeaderParameter;
import io.swagger.v3.oas.models.security.SecurityRequirement;
import io.swagger.v3.oas.models.security.SecurityScheme;
import org.springdoc.core.customizers.OperationCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.bind.annotation.PostMapping;

/** The title and description shown in Swagger UI and in the committed contract under openapi/. */
@Configuration(proxyBeanMethods = false)
class OpenApiConfiguration {

    /** Every POST takes an Idempotency-Key; Swagger UI shows the header so that people can try it. */
    @Bean
    OperationCustomizer idempotencyKeyHeader() {
        return (operation, handler) -> {
            if (handler.hasMethodAnnotation(PostMapping.class)) {
                operation.addParametersItem(new HeaderParameter()
                        .name("Idempotency-Key")
                        .required(false)
                        .description("Retries with the same key and request get the first response again;"
                                + " the same key with a different request is 422")
                        .schema(new StringSchema().maxLength(255)));
            }
            return operation;
        };
    }

    @Bean
    OpenAPI sprigOpenApi() {
        return new OpenAPI()
                .components(new Components()
                        .addSecuritySchemes(
                                "apiKey",
                                new SecurityScheme()
                                        .type(SecurityScheme.Type.HTTP)
                                        .scheme("bearer")
                                        .description(
                                                "an API key from sprig.api.api-keys (or the one logged at start-up)")))
                .addSecurityItem(new SecurityRequirement().addList("apiKey"))
                .info(new Info()
                        .title("Sprig API")
                        .version("v1")
                        .description("Create virtual-machine disks in bulk by redirect-on-write cloning of cached"
                                + " base images: images, disks, snapshots, lineage and long-running operations.")
                        .license(new License().name("Apache-2.0")));
    }
}
