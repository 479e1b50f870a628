package dev.sprig.api.web;

import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.info.Info;
import io.swagger.v3.oas.models.info.License;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The title and description shown in Swagger UI and in the committed contract under openapi/. */
@Configuration(proxyBeanMethods = false)
class OpenApiConfiguration {

    @Bean
    OpenAPI sprigOpenApi() {
        return new OpenAPI()
                .info(new Info()
                        .title("Sprig API")
                        .version("v1")
                        .description("Create virtual-machine disks in bulk by redirect-on-write cloning of cached"
                                + " base images: images, disks, snapshots, lineage and long-running operations.")
                        .license(new License().name("Apache-2.0")));
    }
}
