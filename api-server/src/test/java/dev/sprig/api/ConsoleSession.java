package dev.sprig.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The console over plain HTTP, signed in as a browser signs in (the form's CSRF token, then the
 * key in a POST body): for tests that look at what a page says rather than at a browser.
 */
final class ConsoleSession {

    private static final Pattern CSRF = Pattern.compile("name=\"_csrf\" value=\"([^\"]+)\"");

    private final HttpClient http = HttpClient.newHttpClient();
    private final String base;
    private final String cookie;
    /** The session cookie the sign-in form was served with, before signing in. */
    private final String before;

    ConsoleSession(int port, String key) {
        this.base = "http://127.0.0.1:" + port;
        HttpResponse<String> form = send(HttpRequest.newBuilder(URI.create(base + "/console/sign-in")));
        this.before = form.headers().firstValue("Set-Cookie").orElseThrow().split(";")[0];
        HttpResponse<String> signedIn = send(HttpRequest.newBuilder(URI.create(base + "/console/sign-in"))
                .header("Cookie", before)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(
                        "key=" + URLEncoder.encode(key, StandardCharsets.UTF_8) + "&_csrf=" + csrf(form.body()))));
        assertThat(signedIn.statusCode()).as("signing in: %s", signedIn.body()).isEqualTo(302);
        this.cookie = signedIn.headers().firstValue("Set-Cookie").orElseThrow().split(";")[0];
    }

    String cookie() {
        return cookie;
    }

    String cookieBeforeSignIn() {
        return before;
    }

    /** A page, which must answer 200. */
    String page(String path) {
        HttpResponse<String> page = get(path);
        assertThat(page.statusCode()).as("GET %s: %s", path, page.body()).isEqualTo(200);
        return page.body();
    }

    HttpResponse<String> get(String path) {
        return send(HttpRequest.newBuilder(URI.create(base + path)).header("Cookie", cookie));
    }

    /** A form posted as the page at {@code formPage} would post it, with that page's CSRF token. */
    HttpResponse<String> post(String formPage, String action, String form) {
        String token = csrf(page(formPage));
        return send(HttpRequest.newBuilder(URI.create(base + action))
                .header("Cookie", cookie)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(
                        form.isEmpty() ? "_csrf=" + token : form + "&_csrf=" + token)));
    }

    /** A form posted without its CSRF token, as a page of another site would post it. */
    HttpResponse<String> postWithoutToken(String action) {
        return send(HttpRequest.newBuilder(URI.create(base + action))
                .header("Cookie", cookie)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("")));
    }

    private static String csrf(String page) {
        Matcher token = CSRF.matcher(page);
        assertThat(token.find()).as("a CSRF token on the page").isTrue();
        return token.group(1);
    }

    private HttpResponse<String> send(HttpRequest.Builder request) {
        try {
            return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
