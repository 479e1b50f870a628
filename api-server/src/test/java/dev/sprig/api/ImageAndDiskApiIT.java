package dev.sprig.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.engine.ChunkEngine;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/** Images and clones through the REST API, on real PostgreSQL and the embedded engine. */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "sprig.api.api-keys=" + ImageAndDiskApiIT.KEY)
class ImageAndDiskApiIT {

    static final String KEY = "it-key-0123456789";
    static final int MIB = 1 << 20;

    @DynamicPropertySource
    static void dataDirs(DynamicPropertyRegistry registry) {
        TestDataDirs.isolate(registry, "images-disks");
    }

    @LocalServerPort
    int port;

    @Autowired
    ChunkEngine engine;

    @Autowired
    JdbcTemplate jdbc;

    ApiClient api;

    @BeforeEach
    void client() {
        api = new ApiClient(port, KEY);
    }

    @Test
    void everyDataEndpointNeedsAValidKeyButHealthAndDocsAreOpen() {
        ApiClient anonymous = api.withKey("");
        ApiClient wrong = api.withKey("not-a-key");
        for (ApiClient client : List.of(anonymous, wrong)) {
            assertProblem(client.get("/v1/images"), 401, "UNAUTHENTICATED");
            assertProblem(client.get("/v1/disks"), 401, "UNAUTHENTICATED");
            assertProblem(client.post("/v1/images", "{\"name\":\"x\",\"sizeBytes\":4096}"), 401, "UNAUTHENTICATED");
            assertProblem(client.put("/v1/images/img-0000000000000000/file", new byte[4096]), 401, "UNAUTHENTICATED");
        }
        assertThat(anonymous.get("/actuator/health").statusCode()).isEqualTo(200);
        assertThat(anonymous.get("/v3/api-docs").statusCode()).isEqualTo(200);
        assertThat(jdbc.queryForObject("SELECT count(*) FROM resource WHERE name = 'x'", Long.class))
                .isZero();
    }

    @Test
    void concurrentSingleClonesAskingForTheSameNamesCreateEachNameOnce() throws Exception {
        String image = api.availableImage(imageContent(MIB));
        String prefix = unique("twin");
        List<java.util.concurrent.Callable<HttpResponse<String>>> requests = new java.util.ArrayList<>();
        for (int i = 0; i < 40; i++) {
            String body = "{\"name\":\"" + prefix + "-" + (i % 20) + "\",\"sourceId\":\"" + image + "\"}";
            requests.add(() -> api.post("/v1/disks", body));
        }
        var pool = java.util.concurrent.Executors.newFixedThreadPool(40);
        List<HttpResponse<String>> responses = new java.util.ArrayList<>();
        try {
            for (var answered : pool.invokeAll(requests)) {
                responses.add(answered.get());
            }
        } finally {
            pool.shutdownNow();
        }

        assertThat(responses).filteredOn(r -> r.statusCode() == 201).hasSize(20);
        responses.stream().filter(r -> r.statusCode() != 201).forEach(r -> assertProblem(r, 409, "ALREADY_EXISTS"));
        assertThat(jdbc.queryForList(
                        "SELECT name FROM resource WHERE kind = 'disk' AND name LIKE ?", String.class, prefix + "-%"))
                .hasSize(20)
                .doesNotHaveDuplicates();
        for (HttpResponse<String> created : responses) {
            if (created.statusCode() == 201) {
                long lc = ApiClient.json(created).path("lcId").asLong();
                assertThat(engine.info(lc).parentLcId()).isPresent();
            }
        }
    }

    @Test
    void anUploadedImageIsClonedIntoADiskThatReadsItsBytes() {
        byte[] content = imageContent(8 * MIB);
        HttpResponse<String> created =
                api.post("/v1/images", "{\"name\":\"" + unique("base") + "\",\"sizeBytes\":" + content.length + "}");
        assertThat(created.statusCode()).isEqualTo(201);
        JsonNode image = ApiClient.json(created);
        String imageId = image.path("externId").asString();
        assertThat(imageId).matches("img-[0-9a-z]{16}");
        assertThat(image.path("state").asString()).isEqualTo("queued");
        assertThat(created.headers().firstValue("Location")).hasValue("/v1/images/" + imageId);

        HttpResponse<String> uploaded = api.put("/v1/images/" + imageId + "/file", content);

        assertThat(uploaded.statusCode()).as(uploaded.body()).isEqualTo(200);
        JsonNode available = ApiClient.json(uploaded);
        assertThat(available.path("state").asString()).isEqualTo("available");
        assertThat(available.path("bytesReceived").asLong()).isEqualTo(content.length);
        long imageLc = available.path("lcId").asLong();
        assertThat(engine.info(imageLc).frozen()).isTrue();
        assertThat(engine.stats(imageLc).bytesStored())
                .as("all-zero segments are not stored")
                .isEqualTo(4L * MIB);

        HttpResponse<String> cloned =
                api.post("/v1/disks", "{\"name\":\"" + unique("vm") + "\",\"sourceId\":\"" + imageId + "\"}");

        assertThat(cloned.statusCode()).as(cloned.body()).isEqualTo(201);
        JsonNode disk = ApiClient.json(cloned);
        assertThat(disk.path("externId").asString()).matches("disk-[0-9a-z]{16}");
        assertThat(disk.path("state").asString()).isEqualTo("available");
        assertThat(disk.path("sourceId").asString()).isEqualTo(imageId);
        long diskLc = disk.path("lcId").asLong();
        assertThat(engine.info(diskLc).parentLcId()).hasValue(imageLc);
        assertThat(engine.read(diskLc, 0, content.length)).isEqualTo(content);
        assertThat(jdbc.queryForObject("SELECT parent_lc_id FROM lc WHERE lc_id = ?", Long.class, diskLc))
                .isEqualTo(imageLc);
        assertThat(ApiClient.json(api.get("/v1/disks/" + disk.path("externId").asString()))
                        .path("lcId")
                        .asLong())
                .isEqualTo(diskLc);
    }

    @Test
    void aCloneMayBeLargerThanItsImageButNeverSmaller() {
        String imageId = availableImage(4 * MIB);
        JsonNode larger = ApiClient.json(api.post(
                "/v1/disks",
                "{\"name\":\"" + unique("big") + "\",\"sourceId\":\"" + imageId + "\",\"sizeBytes\":" + 64 * MIB
                        + "}"));
        assertThat(larger.path("sizeBytes").asLong()).isEqualTo(64 * MIB);
        assertThat(engine.read(larger.path("lcId").asLong(), 63 * MIB, 16)).containsOnly(0);

        assertProblem(
                api.post(
                        "/v1/disks",
                        "{\"name\":\"" + unique("small") + "\",\"sourceId\":\"" + imageId + "\",\"sizeBytes\":4096}"),
                400,
                "INVALID_ARGUMENT");
    }

    @Test
    void aBodyOfTheWrongLengthLeavesTheImageInErrorAndARetrySucceeds() {
        byte[] content = imageContent(2 * MIB);
        String imageId = ApiClient.json(api.post(
                        "/v1/images", "{\"name\":\"" + unique("retry") + "\",\"sizeBytes\":" + content.length + "}"))
                .path("externId")
                .asString();

        assertProblem(api.put("/v1/images/" + imageId + "/file", new byte[MIB]), 400, "INVALID_ARGUMENT");
        JsonNode failed = ApiClient.json(api.get("/v1/images/" + imageId));
        assertThat(failed.path("state").asString()).isEqualTo("error");
        assertThat(failed.path("error").asString()).contains("1048576");
        assertProblem(
                api.post("/v1/disks", "{\"name\":\"" + unique("nope") + "\",\"sourceId\":\"" + imageId + "\"}"),
                409,
                "INVALID_STATE");

        assertThat(api.put("/v1/images/" + imageId + "/file", content).statusCode())
                .isEqualTo(200);
        assertThat(ApiClient.json(api.get("/v1/images/" + imageId))
                        .path("state")
                        .asString())
                .isEqualTo("available");
        assertProblem(api.put("/v1/images/" + imageId + "/file", content), 409, "INVALID_STATE");
    }

    @Test
    void anUploadCutOffMidwayLeavesTheImageInErrorNotAvailable() throws Exception {
        int size = 4 * MIB;
        String imageId = ApiClient.json(
                        api.post("/v1/images", "{\"name\":\"" + unique("cut") + "\",\"sizeBytes\":" + size + "}"))
                .path("externId")
                .asString();
        try (Socket socket = new Socket("127.0.0.1", port)) {
            String head = "PUT /v1/images/" + imageId + "/file HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                    + KEY + "\r\nContent-Type: application/octet-stream\r\nContent-Length: " + size + "\r\n\r\n";
            socket.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
            socket.getOutputStream().write(imageContent(size / 2));
            socket.getOutputStream().flush();
        }

        String state = "importing";
        for (int i = 0; i < 100 && !state.equals("error"); i++) {
            Thread.sleep(100);
            state = ApiClient.json(api.get("/v1/images/" + imageId))
                    .path("state")
                    .asString();
        }
        assertThat(state).isEqualTo("error");
    }

    @Test
    void namesAreUniquePerKindAndBadRequestsGetProblems() {
        String name = unique("dup");
        assertThat(api.post("/v1/images", "{\"name\":\"" + name + "\",\"sizeBytes\":4096}")
                        .statusCode())
                .isEqualTo(201);
        assertProblem(api.post("/v1/images", "{\"name\":\"" + name + "\",\"sizeBytes\":4096}"), 409, "ALREADY_EXISTS");

        assertProblem(
                api.post("/v1/images", "{\"name\":\"" + unique("z") + "\",\"sizeBytes\":0}"), 400, "INVALID_ARGUMENT");
        assertProblem(api.post("/v1/images", "{\"name\":\"\",\"sizeBytes\":10}"), 400, "INVALID_ARGUMENT");
        assertProblem(api.post("/v1/images", "{\"name\": "), 400, "INVALID_ARGUMENT");
        assertProblem(api.get("/v1/images/img-doesnotexist0000"), 404, "NOT_FOUND");
        assertProblem(api.get("/v1/disks/disk-doesnotexist000"), 404, "NOT_FOUND");
        assertProblem(
                api.post("/v1/disks", "{\"name\":\"" + unique("d") + "\",\"sourceId\":\"img-doesnotexist0000\"}"),
                404,
                "NOT_FOUND");
        String queued = ApiClient.json(api.post("/v1/images", "{\"name\":\"" + unique("q") + "\",\"sizeBytes\":4096}"))
                .path("externId")
                .asString();
        assertProblem(
                api.post("/v1/disks", "{\"name\":\"" + unique("d") + "\",\"sourceId\":\"" + queued + "\"}"),
                409,
                "INVALID_STATE");
    }

    @Test
    void listingsPageInCreationOrderWithFilters() {
        String prefix = unique("page") + "-";
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            ids.add(ApiClient.json(api.post("/v1/images", "{\"name\":\"" + prefix + i + "\",\"sizeBytes\":4096}"))
                    .path("externId")
                    .asString());
        }

        List<String> seen = new ArrayList<>();
        String token = "";
        int pages = 0;
        do {
            JsonNode page =
                    ApiClient.json(api.get("/v1/images?pageSize=2&namePrefix=" + prefix + "&pageToken=" + token));
            page.path("items").forEach(item -> seen.add(item.path("externId").asString()));
            token = page.path("nextPageToken").isNull()
                            || page.path("nextPageToken").isMissingNode()
                    ? null
                    : page.path("nextPageToken").asString();
            pages++;
        } while (token != null);

        assertThat(seen).containsExactlyElementsOf(ids);
        assertThat(pages).isEqualTo(3);
        assertThat(ApiClient.json(api.get("/v1/images?state=available&namePrefix=" + prefix))
                        .path("items")
                        .size())
                .isZero();
        assertProblem(api.get("/v1/images?pageToken=garbage!"), 400, "INVALID_ARGUMENT");
        assertProblem(api.get("/v1/images?pageSize=0"), 400, "INVALID_ARGUMENT");
        assertProblem(api.get("/v1/images?pageSize=abc"), 400, "INVALID_ARGUMENT");
    }

    private String availableImage(int size) {
        return api.availableImage(imageContent(size));
    }

    /** Random bytes in the first half of every MiB, zeros in the second: half the segments are all-zero. */
    static byte[] imageContent(int size) {
        byte[] content = new byte[size];
        var random = new Random(size);
        for (int at = 0; at < size; at += MIB) {
            byte[] half = new byte[Math.min(MIB / 2, size - at)];
            random.nextBytes(half);
            System.arraycopy(half, 0, content, at, half.length);
        }
        return content;
    }

    static String unique(String name) {
        return name + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    static void assertProblem(HttpResponse<String> response, int status, String code) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        assertThat(response.headers().firstValue("Content-Type"))
                .hasValueSatisfying(type -> assertThat(type).startsWith("application/problem+json"));
        assertThat(ApiClient.json(response).path("code").asString()).isEqualTo(code);
    }
}
