package dev.sprig.api;

import static dev.sprig.api.ImageAndDiskApiIT.assertProblem;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Input a client crafts to break the server rather than to use it is a 400 problem, never a 500
 * with a PostgreSQL error: a NUL character wherever a string goes (PostgreSQL text cannot hold
 * one), a page token the server did not issue, a fraction where an integer goes, and {@code /error}
 * asked for by name.
 */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "sprig.api.api-keys=" + HostileInputIT.KEY)
class HostileInputIT {

    static final String KEY = "hostile-key-0123456789";

    @DynamicPropertySource
    static void dataDirs(DynamicPropertyRegistry registry) {
        TestDataDirs.isolate(registry, "hostile-input");
    }

    @LocalServerPort
    int port;

    ApiClient api;

    @BeforeEach
    void client() {
        api = new ApiClient(port, KEY);
    }

    @Test
    void aNulInANameInAJsonBodyIsRefused() {
        String image = image();
        assertProblem(api.post("/v1/images", "{\"name\":\"a\\u0000b\",\"sizeBytes\":4096}"), 400, "INVALID_ARGUMENT");
        assertProblem(
                api.post("/v1/disks", "{\"name\":\"a\\u0000b\",\"sourceId\":\"" + image + "\"}"),
                400,
                "INVALID_ARGUMENT");
        assertProblem(api.post("/v1/disks", "{\"name\":\"d\",\"sourceId\":\"img-\\u0000\"}"), 400, "INVALID_ARGUMENT");
        assertProblem(
                api.post(
                        "/v1/disks:batchCreate",
                        "{\"namePrefix\":\"p\\u0000\",\"count\":2,\"sourceId\":\"" + image + "\"}"),
                400,
                "INVALID_ARGUMENT");
    }

    @Test
    void aNulInTheUrlIsRefused() {
        assertProblem(api.get("/v1/disks?namePrefix=a%00b"), 400, "INVALID_ARGUMENT");
        assertProblem(api.get("/v1/images?namePrefix=%00"), 400, "INVALID_ARGUMENT");
        assertProblem(api.get("/v1/disks?pageToken=%00"), 400, "INVALID_ARGUMENT");
    }

    @Test
    void aNulInAnIdInThePathIsRefused() {
        // Tomcat itself refuses a path that decodes to a NUL, before the application sees it
        for (String path : new String[] {"/v1/disks/disk-%00", "/v1/images/img-%00/descendants"}) {
            HttpResponse<String> response = api.get(path);
            assertThat(response.statusCode()).as(path).isEqualTo(400);
            assertThat(response.body()).doesNotContain("PSQLException").doesNotContain("0x00");
        }
    }

    @Test
    void aNulInTheIdempotencyKeyIsRefused() throws Exception {
        // java.net.http refuses to send one; a raw socket does what a hostile client would
        String body = "{\"name\":\"x\",\"sizeBytes\":4096}";
        String request = "POST /v1/images HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + KEY
                + "\r\nContent-Type: application/json\r\nIdempotency-Key: key-0123456789\0abcdef\r\n"
                + "Content-Length: " + body.length() + "\r\nConnection: close\r\n\r\n" + body;
        try (Socket socket = new Socket("127.0.0.1", port)) {
            OutputStream out = socket.getOutputStream();
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = socket.getInputStream();
            String response = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
            assertThat(response).startsWith("HTTP/1.1 400");
            assertThat(response).doesNotContain("PSQLException").doesNotContain("0x00");
        }
    }

    @Test
    void aPageTokenTheServerDidNotIssueIsRefused() {
        String prefix = "tok-" + UUID.randomUUID().toString().substring(0, 8) + "-";
        for (int i = 0; i < 3; i++) {
            assertThat(api.post("/v1/images", "{\"name\":\"" + prefix + i + "\",\"sizeBytes\":4096}")
                            .statusCode())
                    .isEqualTo(201);
        }
        String issued = ApiClient.json(api.get("/v1/images?pageSize=1&namePrefix=" + prefix))
                .path("nextPageToken")
                .asString();
        assertThat(api.get("/v1/images?pageSize=1&namePrefix=" + prefix + "&pageToken=" + issued)
                        .statusCode())
                .as("a token the server issued works")
                .isEqualTo(200);

        // the unsigned form tokens had before: base64url of "<seconds>.<nanos>:<extern id>"
        String forged = base64("0.0:" + "img-0000000000000000");
        assertProblem(api.get("/v1/images?pageToken=" + forged), 400, "INVALID_ARGUMENT");
        String withNul = base64("0.0:\0");
        assertProblem(api.get("/v1/disks?pageToken=" + withNul), 400, "INVALID_ARGUMENT");
        // an issued token's position with another signature, and with its signature cut off
        String position = issued.substring(0, issued.indexOf('.'));
        assertProblem(
                api.get("/v1/images?pageToken=" + position + "." + base64("not the mac")), 400, "INVALID_ARGUMENT");
        assertProblem(api.get("/v1/images?pageToken=" + position), 400, "INVALID_ARGUMENT");
        String otherPosition = base64("0.0:img-0000000000000000");
        assertProblem(
                api.get("/v1/images?pageToken=" + otherPosition + issued.substring(issued.indexOf('.'))),
                400,
                "INVALID_ARGUMENT");
        assertProblem(api.get("/v1/images?pageToken=" + "A".repeat(4000)), 400, "INVALID_ARGUMENT");
    }

    @Test
    void aFractionWhereAnIntegerGoesIsRefused() {
        String image = image();
        HttpResponse<String> fraction = api.post(
                "/v1/disks:batchCreate", "{\"namePrefix\":\"frac\",\"count\":1.5,\"sourceId\":\"" + image + "\"}");
        assertProblem(fraction, 400, "INVALID_ARGUMENT");
        assertProblem(api.post("/v1/images", "{\"name\":\"frac\",\"sizeBytes\":4096.5}"), 400, "INVALID_ARGUMENT");
    }

    @Test
    void errorAskedForByNameIsNotFoundNotAServerError() {
        assertProblem(api.get("/error"), 404, "NOT_FOUND");
        assertProblem(api.withKey("").get("/error"), 404, "NOT_FOUND");
        assertProblem(api.post("/error", "{}"), 404, "NOT_FOUND");
    }

    /** An image in no particular state: enough for a request to get past the lookup of its source. */
    private String image() {
        return ApiClient.json(api.post(
                        "/v1/images",
                        "{\"name\":\"src-" + UUID.randomUUID().toString().substring(0, 8) + "\",\"sizeBytes\":4096}"))
                .path("externId")
                .asString();
    }

    private static String base64(String raw) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(raw.getBytes(StandardCharsets.UTF_8));
    }
}
