package dev.sprig.api.web;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.List;
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
 * the OpenAPI document and Swagger UI stay open. Stateless: no sessions, no CSRF tokens.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
class SecurityConfiguration {

    @Bean
    SecurityFilterChain apiSecurity(HttpSecurity http, ApiKeys keys, JsonMapper json) throws Exception {
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
                                "/v1/node:scrub")
                        .permitAll()
                        // the node registry: operators and the storage nodes themselves
                        .requestMatchers("/v1/nodes", "/v1/nodes/**", "/v1/nodes:*")
                        .hasRole("ADMIN")
                        // evicting from the image cache is an operator's decision
                        .requestMatchers(HttpMethod.POST, "/v1/images/*:evict")
                        .hasRole("ADMIN")
                        .anyRequest()
                        .authenticated())
                .addFilterBefore(new ApiKeyFilter(keys), AnonymousAuthenticationFilter.class)
                .exceptionHandling(errors -> errors.accessDeniedHandler((request, response, denied) -> Problems.write(
                                response,
                                json,
                                HttpStatus.FORBIDDEN,
                                "this endpoint needs an admin key (sprig.api.admin-keys)"))
                        .authenticationEntryPoint((request, response, failure) -> {
                            response.setHeader(HttpHeaders.WWW_AUTHENTICATE, "Bearer realm=\"sprig\"");
                            Problems.write(
                                    response,
                                    json,
                                    HttpStatus.UNAUTHORIZED,
                                    request.getHeader(HttpHeaders.AUTHORIZATION) == null
                                            ? "this endpoint needs an API key: Authorization: Bearer <key>"
                                            : "the API key is not valid");
                        }))
                .build();
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
                keys.callerOf(header.substring("Bearer ".length()).strip())
                        .ifPresent(caller -> SecurityContextHolder.getContext()
                                .setAuthentication(UsernamePasswordAuthenticationToken.authenticated(
                                        caller.principal(),
                                        null,
                                        caller.admin()
                                                ? List.of(
                                                        new SimpleGrantedAuthority("ROLE_CLIENT"),
                                                        new SimpleGrantedAuthority("ROLE_ADMIN"))
                                                : List.of(new SimpleGrantedAuthority("ROLE_CLIENT")))));
            }
            chain.doFilter(request, response);
        }
    }
}
