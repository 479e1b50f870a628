package dev.sprig.api.web;

import dev.sprig.api.node.NodeCredentials;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.core.authority.SimpleGrantedAuthority;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.authentication.AnonymousAuthenticationFilter;
import org.springframework.web.filter.OncePerRequestFilter;
import tools.jackson.databind.json.JsonMapper;

/**
 * Every endpoint that reads or changes data needs {@code Authorization: Bearer <api key>}; health,
 * the OpenAPI document and Swagger UI stay open. A storage node registers ({@code PUT
 * /v1/nodes/{id}}) with the credential issued for its id and nothing else: no API key, admin or not,
 * and no other node's credential. Stateless: no sessions, no CSRF tokens; a console session's cookie
 * opens nothing here (the console's own chain, {@code ConsoleSecurity}, comes first and keeps to
 * {@code /console}).
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
class SecurityConfiguration {

    @Bean
    SecurityFilterChain apiSecurity(HttpSecurity http, ApiKeys keys, NodeCredentials nodes, JsonMapper json)
            throws Exception {
        return http.csrf(csrf -> csrf.disable())
                .sessionManagement(session -> session.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
                .httpBasic(basic -> basic.disable())
                .formLogin(form -> form.disable())
                // nothing to log out of and no login page to return to: two filters fewer per request
                .logout(logout -> logout.disable())
                .requestCache(cache -> cache.disable())
                .authorizeHttpRequests(requests -> requests.requestMatchers(
                                "/actuator/health",
                                "/actuator/health/**",
                                "/v3/api-docs",
                                "/v3/api-docs/**",
                                "/swagger-ui.html",
                                "/swagger-ui/**",
                                "/error")
                        .permitAll()
                        // the node API of the embedded engine has its own guard: the node token
                        .requestMatchers(
                                "/v1/lcs/**",
                                "/v1/lcs:batchDefine",
                                "/v1/node",
                                "/v1/node/**",
                                "/v1/node:flush",
                                "/v1/node:scrub",
                                "/v1/fences",
                                "/v1/fences/**")
                        .permitAll()
                        // a node's registration and heartbeat: that node's own credential
                        .requestMatchers(HttpMethod.PUT, "/v1/nodes/*")
                        .hasRole("NODE")
                        // the rest of the node registry, credentials included: operators
                        .requestMatchers("/v1/nodes", "/v1/nodes/**", "/v1/nodes:*")
                        .hasRole("ADMIN")
                        // evicting from the image cache is an operator's decision
                        .requestMatchers(HttpMethod.POST, "/v1/images/*:evict")
                        .hasRole("ADMIN")
                        // so is a replica scrub, which reads every node's data
                        .requestMatchers(HttpMethod.POST, "/v1/replica-sets:scrub")
                        .hasRole("ADMIN")
                        // Prometheus's metrics key reads this and nothing else
                        .requestMatchers(HttpMethod.GET, "/actuator/prometheus")
                        .hasAnyRole(ApiKeys.CLIENT, ApiKeys.METRICS)
                        .anyRequest()
                        .hasRole(ApiKeys.CLIENT))
                .addFilterBefore(new ApiKeyFilter(keys), AnonymousAuthenticationFilter.class)
                .addFilterAfter(new NodeCredentialFilter(nodes), ApiKeyFilter.class)
                .exceptionHandling(errors -> errors.accessDeniedHandler((request, response, denied) -> Problems.write(
                                response,
                                json,
                                HttpStatus.FORBIDDEN,
                                NodeCredentialFilter.registeringNode(request) != null
                                        ? "registering a node needs the credential issued for that node id"
                                                + " (POST /v1/nodes/{id}:issueCredential), not an API key"
                                        : ApiKeys.has(
                                                        SecurityContextHolder.getContext()
                                                                .getAuthentication(),
                                                        ApiKeys.CLIENT)
                                                ? "this endpoint needs an admin key (sprig.api.admin-keys)"
                                                : "a metrics key (sprig.api.metrics-keys) reads /actuator/prometheus"
                                                        + " and nothing else"))
                        .authenticationEntryPoint((request, response, failure) -> {
                            response.setHeader(HttpHeaders.WWW_AUTHENTICATE, "Bearer realm=\"sprig\"");
                            Problems.write(
                                    response,
                                    json,
                                    HttpStatus.UNAUTHORIZED,
                                    NodeCredentialFilter.registeringNode(request) != null
                                            ? "registering a node needs the credential issued for that node id:"
                                                    + " Authorization: Bearer <credential>"
                                            : request.getHeader(HttpHeaders.AUTHORIZATION) == null
                                                    ? "this endpoint needs an API key: Authorization: Bearer <key>"
                                                    : "the API key is not valid");
                        }))
                .build();
    }

    /**
     * On {@code PUT /v1/nodes/{id}}, turns the credential issued for that id into the principal
     * {@code node:<id>} with the one role NODE, in place of whatever an API key made of the request;
     * anything else it leaves alone.
     */
    static final class NodeCredentialFilter extends OncePerRequestFilter {

        private static final Pattern REGISTRATION = Pattern.compile("/v1/nodes/([^/:]+)");

        private final NodeCredentials credentials;

        NodeCredentialFilter(NodeCredentials credentials) {
            this.credentials = credentials;
        }

        /** The node id a request registers, or null when it is no registration. */
        static @Nullable String registeringNode(HttpServletRequest request) {
            if (!HttpMethod.PUT.matches(request.getMethod())) {
                return null;
            }
            Matcher path = REGISTRATION.matcher(
                    request.getRequestURI().substring(request.getContextPath().length()));
            return path.matches() ? path.group(1) : null;
        }

        @Override
        protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
                throws ServletException, IOException {
            String nodeId = registeringNode(request);
            String header = request.getHeader(HttpHeaders.AUTHORIZATION);
            if (nodeId != null && header != null && header.startsWith("Bearer ")) {
                if (credentials.admits(
                        nodeId, header.substring("Bearer ".length()).strip())) {
                    SecurityContextHolder.getContext()
                            .setAuthentication(UsernamePasswordAuthenticationToken.authenticated(
                                    "node:" + nodeId, null, List.of(new SimpleGrantedAuthority("ROLE_NODE"))));
                }
            }
            chain.doFilter(request, response);
        }
    }

    /** Turns a valid bearer key into an authenticated principal; anything else stays anonymous. */
    static final class ApiKeyFilter extends OncePerRequestFilter {

        private final ApiKeys keys;

        ApiKeyFilter(ApiKeys keys) {
            this.keys = keys;
        }

        @Override
        protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
                throws ServletException, IOException {
            String header = request.getHeader(HttpHeaders.AUTHORIZATION);
            if (header != null && header.startsWith("Bearer ")) {
                keys.authenticate(header.substring("Bearer ".length()).strip())
                        .ifPresent(SecurityContextHolder.getContext()::setAuthentication);
            }
            chain.doFilter(request, response);
        }
    }
}
