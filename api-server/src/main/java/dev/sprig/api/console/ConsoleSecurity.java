package dev.sprig.api.console;

import dev.sprig.api.web.ApiKeys;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpStatus;
import org.springframework.security.config.Customizer;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.context.HttpSessionSecurityContextRepository;
import org.springframework.security.web.context.SecurityContextRepository;
import org.springframework.security.web.csrf.CsrfException;

/**
 * The console signs in with an API key once and then rides a session: the key goes in a POST body
 * and never in a URL, the session keeps only the principal (a digest of the key) and its roles, and
 * every form carries a CSRF token. This chain claims {@code /console} (and the WebJars its pages
 * load) and comes before the API's, which stays stateless: a console session opens nothing under
 * {@code /v1}.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
class ConsoleSecurity {

    static final String SIGN_IN = "/console/sign-in";

    @Bean
    SecurityContextRepository consoleSessions() {
        return new HttpSessionSecurityContextRepository();
    }

    @Bean
    @Order(1)
    SecurityFilterChain consoleFilterChain(HttpSecurity http, SecurityContextRepository consoleSessions)
            throws Exception {
        return http.securityMatcher("/console", "/console/**", "/webjars/**")
                .authorizeHttpRequests(
                        requests -> requests.requestMatchers(SIGN_IN, "/console/assets/**", "/webjars/**")
                                .permitAll()
                                // the node registry is an admin key's, as GET /v1/nodes is
                                .requestMatchers("/console/nodes", "/console/nodes/**")
                                .hasRole(ApiKeys.ADMIN)
                                .anyRequest()
                                .hasRole(ApiKeys.CLIENT))
                .securityContext(context -> context.securityContextRepository(consoleSessions))
                .csrf(Customizer.withDefaults())
                .httpBasic(basic -> basic.disable())
                .formLogin(form -> form.disable())
                .requestCache(cache -> cache.disable())
                .logout(logout -> logout.logoutUrl("/console/sign-out").logoutSuccessUrl(SIGN_IN + "?signedOut"))
                .headers(headers -> headers.contentSecurityPolicy(csp -> csp.policyDirectives(
                        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")))
                .exceptionHandling(errors -> errors.authenticationEntryPoint((request, response, failure) -> {
                            if (request.getHeader("HX-Request") != null) {
                                // a live update whose session ended: htmx sends the whole page to sign-in
                                response.setHeader("HX-Redirect", SIGN_IN);
                                response.setStatus(HttpStatus.UNAUTHORIZED.value());
                            } else {
                                response.sendRedirect(request.getContextPath() + SIGN_IN);
                            }
                        })
                        .accessDeniedHandler((request, response, denied) -> {
                            response.setStatus(HttpStatus.FORBIDDEN.value());
                            response.setContentType("text/html;charset=UTF-8");
                            String console = request.getContextPath() + "/console";
                            response.getWriter()
                                    .write(
                                            denied instanceof CsrfException
                                                    ? "<!doctype html><title>Sprig console</title><p>This form was"
                                                            + " stale: its CSRF token is missing or has expired. <a"
                                                            + " href=\"" + console + "\">Back to the console</a>, and"
                                                            + " try again.</p>"
                                                    : "<!doctype html><title>Sprig console</title><p>403"
                                                            + " PERMISSION_DENIED: this page needs an admin key"
                                                            + " (sprig.api.admin-keys). <a href=\"" + console
                                                            + "\">Back to the console</a></p>");
                        }))
                .build();
    }
}
