package dev.sprig.api;

import static dev.sprig.api.ImageAndDiskApiIT.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.client.ApiException;
import jakarta.servlet.Filter;
import java.net.http.HttpResponse;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import tools.jackson.databind.JsonNode;

/**
 * No failure under /v1 is answered with Spring's default error body ({@code timestamp},
 * {@code status}, {@code error}, {@code path}): whether it is thrown by a controller or by a servlet
 * filter before any controller runs, the answer is problem+json with a stable code.
 */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "sprig.api.api-keys=" + ProblemResponsesIT.KEY)
class ProblemResponsesIT {

    static final String KEY = "problems-key-0123456789";

    @DynamicPropertySource
    static void dataDirs(DynamicPropertyRegistry registry) {
        TestDataDirs.isolate(registry, "problem-responses");
    }

    /** Failures the application itself would only meet by accident, on paths of their own. */
    @TestConfiguration
    static class Failing {

        /** Registered as a member of this configuration (scans skip test classes). */
        @RestController
        static class FailingController {
            @GetMapping("/v1/test-failures/controller")
            String fails() {
                throw new IllegalStateException("a bug in a controller");
            }
        }

        @Bean
        FilterRegistrationBean<Filter> failingFilter() {
            Filter filter = (request, response, chain) -> {
                String path = ((jakarta.servlet.http.HttpServletRequest) request).getRequestURI();
                switch (path) {
                    case "/v1/test-failures/filter" -> throw new IllegalStateException("a bug in a filter");
                    case "/v1/test-failures/database" ->
                        throw new DataAccessResourceFailureException(
                                "claim",
                                new SQLException(
                                        "FATAL: terminating connection due to administrator command", "57P01"));
                    default -> chain.doFilter(request, response);
                }
            };
            var registration = new FilterRegistrationBean<>(filter);
            registration.addUrlPatterns("/v1/test-failures/*");
            return registration;
        }
    }

    @LocalServerPort
    int port;

    ApiClient api;

    @BeforeEach
    void client() {
        api = new ApiClient(port, KEY);
    }

    @Test
    void anUnexpectedFailureInAControllerIsAProblemNotSpringsDefaultBody() {
        HttpResponse<String> response = api.get("/v1/test-failures/controller");

        assertProblem(response, 500, "INTERNAL");
        assertIsTheDocumentedProblem(response);
        assertThat(response.body()).doesNotContain("a bug in a controller");
    }

    @Test
    void anUnexpectedFailureInAFilterIsAProblemNotSpringsDefaultBody() {
        HttpResponse<String> response = api.get("/v1/test-failures/filter");

        assertProblem(response, 500, "INTERNAL");
        assertIsTheDocumentedProblem(response);
        assertThat(ApiClient.json(response).has("timestamp")).isFalse();
    }

    @Test
    void aLostDatabaseConnectionInAFilterIsA503WithRetryAfter() {
        HttpResponse<String> response = api.get("/v1/test-failures/database");

        assertProblem(response, 503, "DATABASE_UNAVAILABLE");
        assertIsTheDocumentedProblem(response);
        assertThat(response.headers().firstValue("Retry-After")).hasValue("2");
    }

    @Test
    void aPathNothingServesIsAProblem() {
        HttpResponse<String> response = api.get("/v1/no-such-thing");

        assertProblem(response, 404, "NOT_FOUND");
        assertIsTheDocumentedProblem(response);
    }

    /** Refused by Spring Security's filter, which writes its problem itself. */
    @Test
    void aWrongKeyIsAProblem() {
        HttpResponse<String> response = new ApiClient(port, "not-" + KEY).get("/v1/disks");

        assertProblem(response, 401, "UNAUTHENTICATED");
        assertIsTheDocumentedProblem(response);
    }

    /**
     * The body is the contract's {@code Problem} (what every 4XX and 5XX is documented as): no member
     * it does not describe, none it requires missing; and api-client reads it as one.
     */
    static void assertIsTheDocumentedProblem(HttpResponse<String> response) {
        JsonNode documented = ApiServerStartupIT.committedContract()
                .path("components")
                .path("schemas")
                .path("Problem");
        JsonNode problem = ApiClient.json(response);
        List<String> members = new ArrayList<>();
        problem.propertyNames().forEach(members::add);
        List<String> described = new ArrayList<>();
        documented.path("properties").propertyNames().forEach(described::add);
        List<String> required = new ArrayList<>();
        documented.path("required").forEach(name -> required.add(name.asString()));

        assertThat(required).as("the contract's Problem").isNotEmpty();
        assertThat(described).as(response.body()).containsAll(members).containsAll(required);
        assertThat(members).as(response.body()).containsAll(required);
        assertThat(new ApiException(response.statusCode(), response.body()).problem())
                .as("api-client's reading of %s", response.body())
                .isNotNull();
    }
}
