package dev.sprig.api.web;

import io.swagger.v3.core.converter.ModelConverter;
import io.swagger.v3.oas.models.Components;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.info.Info;
import io.swagger.v3.oas.models.info.License;
import io.swagger.v3.oas.models.media.ArraySchema;
import io.swagger.v3.oas.models.media.Content;
import io.swagger.v3.oas.models.media.IntegerSchema;
import io.swagger.v3.oas.models.media.MediaType;
import io.swagger.v3.oas.models.media.ObjectSchema;
import io.swagger.v3.oas.models.media.Schema;
import io.swagger.v3.oas.models.media.StringSchema;
import io.swagger.v3.oas.models.parameters.HeaderParameter;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.oas.models.security.SecurityRequirement;
import io.swagger.v3.oas.models.security.SecurityScheme;
import java.util.List;
import org.springdoc.core.customizers.OpenApiCustomizer;
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

    /** Answers' required lists from their records' nullness (see {@link NullnessAsRequired}). */
    @Bean
    ModelConverter nullnessAsRequired() {
        return new NullnessAsRequired();
    }

    /**
     * Every failure is problem+json in one shape ({@link ProblemAdvice}, {@link Problems}, {@link
     * ProblemErrorController}): documented once as {@code Problem}, the body of every operation's
     * 4XX and 5XX answers. The {@code code} says what failed; which codes an operation answers is in
     * its description.
     */
    @Bean
    OpenApiCustomizer problemResponses() {
        return openApi -> {
            openApi.getComponents().addSchemas("Problem", problemSchema());
            Content problem = new Content()
                    .addMediaType(
                            org.springframework.http.MediaType.APPLICATION_PROBLEM_JSON_VALUE,
                            new MediaType().schema(new Schema<>().$ref("#/components/schemas/Problem")));
            openApi.getPaths()
                    .values()
                    .forEach(path -> path.readOperations()
                            .forEach(operation -> operation
                                    .getResponses()
                                    .addApiResponse(
                                            "4XX",
                                            new ApiResponse()
                                                    .description("Refused: a problem whose code says why")
                                                    .content(problem))
                                    .addApiResponse(
                                            "5XX",
                                            new ApiResponse()
                                                    .description(
                                                            "Failed: INTERNAL (500, logged), NODE_UNAVAILABLE,"
                                                                    + " INSUFFICIENT_NODES, INSUFFICIENT_REPLICAS or"
                                                                    + " DATABASE_UNAVAILABLE (503, with Retry-After), CACHE_FULL (507)")
                                                    .content(problem))));
        };
    }

    /** What {@link ProblemAdvice} and {@link Problems} write: RFC 9457's members and Sprig's. */
    private static Schema<?> problemSchema() {
        return new ObjectSchema()
                .description("An RFC 9457 problem (application/problem+json) with Sprig's stable code")
                .addProperty(
                        "type",
                        new StringSchema()
                                .format("uri")
                                .description(
                                        "absent, that is about:blank: api-server sets none, its code says what failed"))
                .addProperty("title", new StringSchema().description("the status's reason phrase"))
                .addProperty("status", new IntegerSchema().format("int32").description("the HTTP status"))
                .addProperty("detail", new StringSchema().description("what happened to which resource"))
                .addProperty(
                        "instance",
                        new StringSchema()
                                .format("uri")
                                .description("the request's path (/error for a failure thrown in a servlet"
                                        + " filter); absent when a filter refused the request itself"
                                        + " (authentication, Idempotency-Key)"))
                .addProperty(
                        "code",
                        new StringSchema()
                                .description("stable, part of the contract: NOT_FOUND, ALREADY_EXISTS,"
                                        + " INVALID_ARGUMENT, INVALID_STATE, HAS_DEPENDENTS, NODE_UNAVAILABLE,"
                                        + " INSUFFICIENT_NODES, INSUFFICIENT_REPLICAS,"
                                        + " DATABASE_UNAVAILABLE, CACHE_FULL, UNAUTHENTICATED,"
                                        + " PERMISSION_DENIED, INTERNAL …"))
                .addProperty(
                        "dependents",
                        new ArraySchema()
                                .items(new StringSchema())
                                .description("with HAS_DEPENDENTS: the extern_ids of what still reads from it"))
                .addProperty(
                        "node",
                        new StringSchema().description("with NODE_UNAVAILABLE: the storage node that did not answer"))
                .addProperty(
                        "outcome",
                        new StringSchema()
                                ._enum(List.of("not_applied", "unknown"))
                                .description("with DATABASE_UNAVAILABLE: whether the change may have been applied"))
                .required(List.of("code", "status", "title"));
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
