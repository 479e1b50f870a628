package dev.sprig.api;

import static dev.sprig.api.ImageAndDiskApiIT.assertProblem;
import static dev.sprig.api.ImageAndDiskApiIT.unique;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * Labels on images, disks and snapshots: given on create, changed by PATCH (a JSON merge patch),
 * and filtered on by the listings, among 10,000 labelled disks, through the GIN index.
 */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "sprig.api.api-keys=" + LabelsApiIT.KEY)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LabelsApiIT {

    static final String KEY = "labels-key-0123456789";
    static final int FLEET = 5_000;

    @DynamicPropertySource
    static void dataDirs(DynamicPropertyRegistry registry) {
        TestDataDirs.isolate(registry, "labels");
    }

    @LocalServerPort
    int port;

    @Autowired
    JdbcTemplate jdbc;

    ApiClient api;
    String imageId;
    String fleet;
    String rareDisk;

    @BeforeAll
    void tenThousandLabelledDisks() {
        api = new ApiClient(port, KEY);
        imageId = api.availableImage(new byte[1 << 20]);
        fleet = unique("fleet");
        for (String half : List.of("a", "b")) {
            HttpResponse<String> created = api.post(
                    "/v1/disks:batchCreate",
                    "{\"sourceId\":\"" + imageId + "\",\"count\":" + FLEET + ",\"namePrefix\":\"" + fleet + "-" + half
                            + "\",\"labels\":{\"fleet\":\"" + fleet + "-" + half + "\",\"tier\":\""
                            + (half.equals("a") ? "gold" : "bronze") + "\"}}");
            assertThat(created.statusCode()).isEqualTo(201);
        }
        HttpResponse<String> rare = api.post(
                "/v1/disks",
                "{\"name\":\"" + unique("rare") + "\",\"sourceId\":\"" + imageId + "\",\"labels\":{\"fleet\":\"" + fleet
                        + "-rare\",\"tier\":\"gold\"}}");
        assertThat(rare.statusCode()).isEqualTo(201);
        rareDisk = ApiClient.id(ApiClient.json(rare));
        jdbc.execute("ANALYZE resource");
    }

    @Test
    @Order(1)
    void aLabelFilterPagesThroughExactlyTheDisksThatCarryIt() {
        long started = System.nanoTime();
        List<JsonNode> found = listAll("/v1/disks?pageSize=1000&label=" + encode("fleet=" + fleet + "-a"));
        long tookMillis = (System.nanoTime() - started) / 1_000_000;

        assertThat(found).hasSize(FLEET);
        assertThat(found).allSatisfy(disk -> {
            assertThat(disk.path("labels").path("fleet").asString()).isEqualTo(fleet + "-a");
            assertThat(disk.path("labels").path("tier").asString()).isEqualTo("gold");
        });
        System.out.printf(
                "labels: %d of %d disks listed by label in %d ms (5 pages)%n", FLEET, 2 * FLEET + 1, tookMillis);
    }

    @Test
    @Order(2)
    void severalLabelsMustAllMatch() {
        assertThat(listAll("/v1/disks?pageSize=1000&label=tier=gold")).hasSize(FLEET + 1);
        List<JsonNode> goldRare = listAll("/v1/disks?label=tier=gold&label=" + encode("fleet=" + fleet + "-rare"));
        assertThat(goldRare)
                .extracting(disk -> disk.path("externId").asString())
                .containsExactly(rareDisk);
        assertThat(listAll("/v1/disks?label=tier=gold&label=" + encode("fleet=" + fleet + "-b")))
                .isEmpty();
        assertThat(listAll("/v1/disks?label=" + encode("fleet=" + fleet + "-b") + "&namePrefix=" + fleet + "-b-00"))
                .hasSize(99);
    }

    @Test
    @Order(3)
    void aRareLabelIsFoundThroughTheIndexNotByReadingEveryDisk() {
        List<String> plan = jdbc.queryForList(
                "EXPLAIN SELECT extern_id FROM resource WHERE kind = 'disk' AND state <> 'deleting'"
                        + " AND labels @> CAST(? AS jsonb) ORDER BY created_at, extern_id LIMIT 51",
                String.class,
                "{\"fleet\":\"" + fleet + "-rare\"}");

        assertThat(String.join("\n", plan)).contains("resource_labels_idx");
        long started = System.nanoTime();
        assertThat(listAll("/v1/disks?label=" + encode("fleet=" + fleet + "-rare")))
                .hasSize(1);
        System.out.printf(
                "labels: 1 of %d disks listed by a rare label in %d ms%n",
                2 * FLEET + 1, (System.nanoTime() - started) / 1_000_000);
    }

    @Test
    @Order(4)
    void aPatchSetsAndRemovesLabelsAndTheListingsFollow() {
        HttpResponse<String> patched =
                api.patch("/v1/disks/" + rareDisk, "{\"labels\":{\"tier\":null,\"owner\":\"team-7\"}}");

        assertThat(patched.statusCode()).isEqualTo(200);
        JsonNode labels = ApiClient.json(patched).path("labels");
        assertThat(labels.path("fleet").asString()).isEqualTo(fleet + "-rare");
        assertThat(labels.path("owner").asString()).isEqualTo("team-7");
        assertThat(labels.has("tier")).isFalse();
        assertThat(listAll("/v1/disks?pageSize=1000&label=tier=gold")).hasSize(FLEET);
        assertThat(listAll("/v1/disks?label=owner=team-7"))
                .extracting(disk -> disk.path("externId").asString())
                .containsExactly(rareDisk);
        assertThat(ApiClient.json(api.get("/v1/disks/" + rareDisk)).path("labels"))
                .isEqualTo(labels);
    }

    @Test
    @Order(5)
    void imagesAndSnapshotsTakeLabelsOnCreateAndByPatchAndAreFilteredAlike() {
        String name = unique("labelled");
        JsonNode image = ApiClient.json(api.post(
                "/v1/images", "{\"name\":\"" + name + "\",\"sizeBytes\":1048576,\"labels\":{\"os\":\"debian-12\"}}"));
        String labelledImage = ApiClient.id(image);
        assertThat(image.path("labels").path("os").asString()).isEqualTo("debian-12");
        assertThat(ApiClient.json(api.patch("/v1/images/" + labelledImage, "{\"labels\":{\"arch\":\"amd64\"}}"))
                        .path("labels"))
                .hasSize(2);
        assertThat(listAll("/v1/images?label=os=debian-12&label=arch=amd64"))
                .extracting(found -> found.path("externId").asString())
                .containsExactly(labelledImage);

        HttpResponse<String> taken = api.post(
                "/v1/disks/" + rareDisk + "/snapshots",
                "{\"name\":\"" + unique("snap") + "\",\"labels\":{\"reason\":\"pre-upgrade\"}}");
        assertThat(taken.statusCode()).isEqualTo(201);
        String snapshot = ApiClient.id(ApiClient.json(taken));
        assertThat(ApiClient.json(taken).path("labels").path("reason").asString())
                .isEqualTo("pre-upgrade");
        assertThat(listAll("/v1/disks/" + rareDisk + "/snapshots?label=reason=pre-upgrade"))
                .extracting(found -> found.path("externId").asString())
                .containsExactly(snapshot);
        assertThat(listAll("/v1/snapshots?label=reason=other")).isEmpty();
        assertThat(ApiClient.json(api.patch("/v1/snapshots/" + snapshot, "{\"labels\":{\"reason\":null}}"))
                        .path("labels"))
                .isEmpty();
        // a clone of a labelled disk or image gets only the labels it is given
        assertThat(api.clone(rareDisk).path("labels")).isEmpty();
    }

    @Test
    @Order(6)
    void labelsOutsideTheRulesAreRefusedAndChangeNothing() {
        assertProblem(api.patch("/v1/disks/" + rareDisk, "{\"labels\":{\"-x\":\"y\"}}"), 400, "INVALID_ARGUMENT");
        assertProblem(api.patch("/v1/disks/" + rareDisk, "{\"labels\":{\"x\":\"a b\"}}"), 400, "INVALID_ARGUMENT");
        assertProblem(api.patch("/v1/disks/" + rareDisk, "{}"), 400, "INVALID_ARGUMENT");
        StringBuilder tooMany = new StringBuilder("{\"labels\":{");
        for (int i = 0; i < 33; i++) {
            tooMany.append(i == 0 ? "" : ",").append("\"k").append(i).append("\":\"v\"");
        }
        tooMany.append("}}");
        HttpResponse<String> refused = api.patch("/v1/disks/" + rareDisk, tooMany.toString());
        assertProblem(refused, 400, "INVALID_ARGUMENT");
        assertThat(ApiClient.json(refused).path("detail").asString()).contains("at most 32 labels");
        assertProblem(
                api.post(
                        "/v1/disks",
                        "{\"name\":\"" + unique("bad") + "\",\"sourceId\":\"" + imageId
                                + "\",\"labels\":{\"ok\":\"no/slash\"}}"),
                400,
                "INVALID_ARGUMENT");
        assertProblem(api.get("/v1/disks?label=tier"), 400, "INVALID_ARGUMENT");
        assertProblem(api.get("/v1/disks?label=tier=a&label=tier=b"), 400, "INVALID_ARGUMENT");
        assertProblem(api.patch("/v1/disks/disk-0000000000000000", "{\"labels\":{}}"), 404, "NOT_FOUND");
        assertProblem(api.patch("/v1/snapshots/" + rareDisk, "{\"labels\":{}}"), 404, "NOT_FOUND");
        assertThat(ApiClient.json(api.get("/v1/disks/" + rareDisk))
                        .path("labels")
                        .size())
                .isEqualTo(2);
    }

    private List<JsonNode> listAll(String query) {
        List<JsonNode> found = new ArrayList<>();
        String token = null;
        do {
            HttpResponse<String> page = api.get(token == null ? query : query + "&pageToken=" + encode(token));
            assertThat(page.statusCode()).as(page.body()).isEqualTo(200);
            JsonNode body = ApiClient.json(page);
            body.path("items").forEach(found::add);
            token = body.path("nextPageToken").isString()
                    ? body.path("nextPageToken").asString()
                    : null;
        } while (token != null);
        return found;
    }

    private static String encode(String text) {
        return URLEncoder.encode(text, StandardCharsets.UTF_8);
    }
}
