package dev.sprig.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * Every operation's success path, called for real, answers a status that the committed contract
 * (openapi/sprig-api.json) declares for that operation, with a content type it declares for that
 * status: a controller that answers 200 where the document says 201 fails here, not in a client.
 * The document itself is kept equal to what api-server serves by ApiServerStartupIT; this holds the
 * answers to the document.
 */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "sprig.api.api-keys=" + DocumentedStatusesIT.KEY,
            "sprig.api.admin-keys=" + DocumentedStatusesIT.ADMIN
        })
class DocumentedStatusesIT {

    static final String KEY = "statuses-key-0123456789";
    static final String ADMIN = "statuses-admin-0123456789";
    static final int SIZE = 1 << 20;

    /** Operations no call here makes, and why: each is held to its statuses where it can be reached. */
    static final Map<String, String> NOT_CALLED = Map.of(
            "POST /v1/operations/{id}:cancel",
            "needs an operation still running when the call arrives (ImportCancelIT)",
            "POST /v1/disks/{id}/attachment:dropMember",
            "the nodes backend only; the embedded one answers 409 (ReplicatedNodesIT)",
            "POST /v1/replica-sets:scrub",
            "the nodes backend only; the embedded one keeps one copy and answers 409 (CatchUpIT)");

    static Path sources;

    @DynamicPropertySource
    static void dataDirsAndSources(DynamicPropertyRegistry registry) {
        TestDataDirs.isolate(registry, "documented-statuses");
        sources = TestDataDirs.fresh("documented-statuses-sources");
        registry.add(
                "sprig.api.image-sources.allowed-prefixes",
                () -> sources.toUri().toString());
    }

    @LocalServerPort
    int port;

    final JsonNode paths = ApiServerStartupIT.committedContract().path("paths");
    final Set<String> called = new TreeSet<>();
    ApiClient api;
    ApiClient admin;

    @BeforeEach
    void clients() {
        api = new ApiClient(port, KEY);
        admin = api.withKey(ADMIN);
    }

    @Test
    void everySuccessPathAnswersAStatusTheContractDeclaresForIt() throws IOException {
        // images: uploaded, then imported from a source
        String image = id(
                documented("POST", "/v1/images", api.post("/v1/images", createImage(ImageAndDiskApiIT.unique("up")))));
        documented(
                "PUT",
                "/v1/images/{id}/file",
                api.put("/v1/images/" + image + "/file", ImageAndDiskApiIT.imageContent(SIZE)));
        documented("GET", "/v1/images/{id}", api.get("/v1/images/" + image));
        documented("PATCH", "/v1/images/{id}", api.patch("/v1/images/" + image, "{\"labels\":{\"os\":\"debian-12\"}}"));
        documented("GET", "/v1/images", api.get("/v1/images"));
        documented("GET", "/v1/images/{id}/descendants", api.get("/v1/images/" + image + "/descendants"));
        JsonNode importing = ApiClient.json(documented("POST", "/v1/images", api.post("/v1/images", importImage())));
        String imported = id(importing);
        documented(
                "GET",
                "/v1/operations/{id}",
                api.get("/v1/operations/" + importing.path("operationId").asString()));
        succeeded(importing.path("operationId").asString());
        documented("GET", "/v1/operations", api.get("/v1/operations?kind=import&state=succeeded"));

        // the cache: a cached image's prefetch, an eviction, the prefetch that imports it again
        documented("GET", "/v1/cache", api.get("/v1/cache"));
        documented("POST", "/v1/images/{id}:prefetch", api.action("/v1/images/" + imported + ":prefetch"));
        documented("POST", "/v1/images/{id}:evict", admin.action("/v1/images/" + imported + ":evict"));
        JsonNode prefetching = ApiClient.json(
                documented("POST", "/v1/images/{id}:prefetch", api.action("/v1/images/" + imported + ":prefetch")));
        succeeded(prefetching.path("id").asString());

        // disks: clone, bulk clone, snapshot, flatten, and what is read of them
        String disk = id(documented(
                "POST",
                "/v1/disks",
                api.post(
                        "/v1/disks",
                        "{\"name\":\"" + ImageAndDiskApiIT.unique("d") + "\",\"sourceId\":\"" + image + "\"}")));
        JsonNode batch = ApiClient.json(documented(
                "POST",
                "/v1/disks:batchCreate",
                api.post(
                        "/v1/disks:batchCreate",
                        "{\"namePrefix\":\"" + ImageAndDiskApiIT.unique("b") + "\",\"count\":2,\"sourceId\":\"" + image
                                + "\"}")));
        String snapshot = id(documented(
                "POST",
                "/v1/disks/{id}/snapshots",
                api.post("/v1/disks/" + disk + "/snapshots", "{\"name\":\"" + ImageAndDiskApiIT.unique("s") + "\"}")));
        documented("GET", "/v1/snapshots/{id}", api.get("/v1/snapshots/" + snapshot));
        documented("GET", "/v1/snapshots", api.get("/v1/snapshots?diskId=" + disk));
        documented("GET", "/v1/disks/{id}/snapshots", api.get("/v1/disks/" + disk + "/snapshots"));
        documented("GET", "/v1/disks/{id}", api.get("/v1/disks/" + disk));
        documented("GET", "/v1/disks", api.get("/v1/disks"));
        documented("GET", "/v1/disks/{id}/lineage", api.get("/v1/disks/" + disk + "/lineage"));
        documented("GET", "/v1/disks/{id}/attachment", api.get("/v1/disks/" + disk + "/attachment"));
        documented("DELETE", "/v1/disks/{id}/attachment", api.delete("/v1/disks/" + disk + "/attachment"));
        documented(
                "POST",
                "/v1/disks/{id}:revert",
                api.post("/v1/disks/" + disk + ":revert", "{\"snapshotId\":\"" + snapshot + "\"}"));
        documented("PATCH", "/v1/disks/{id}", api.patch("/v1/disks/" + disk, "{\"labels\":{\"tier\":\"gold\"}}"));
        documented(
                "PATCH",
                "/v1/snapshots/{id}",
                api.patch("/v1/snapshots/" + snapshot, "{\"labels\":{\"tier\":\"gold\"}}"));
        documented(
                "POST",
                "/v1/disks/{id}:resize",
                api.post("/v1/disks/" + disk + ":resize", "{\"sizeBytes\":" + 2 * SIZE + "}"));
        JsonNode flattening = ApiClient.json(
                documented("POST", "/v1/disks/{id}:flatten", api.action("/v1/disks/" + disk + ":flatten")));
        succeeded(flattening.path("id").asString());

        // deletions, dependents first
        documented("DELETE", "/v1/disks/{id}", api.delete("/v1/disks/" + disk));
        for (JsonNode created : batch.path("disks")) {
            documented("DELETE", "/v1/disks/{id}", api.delete("/v1/disks/" + id(created)));
        }
        documented("DELETE", "/v1/snapshots/{id}", api.delete("/v1/snapshots/" + snapshot));
        documented("DELETE", "/v1/images/{id}", api.delete("/v1/images/" + image));

        // the node registry: a node's whole life, first registration and heartbeat included
        String registration = "{\"httpEndpoint\":\"http://127.0.0.1:9\",\"nbdHost\":\"127.0.0.1\",\"nbdPort\":9,"
                + "\"token\":\"node-token-0123456789abcdef\",\"capacityBytes\":1073741824,\"usedBytes\":0}";
        String credential = ApiClient.json(documented(
                        "POST", "/v1/nodes/{id}:issueCredential", admin.post("/v1/nodes/n1:issueCredential", "")))
                .path("credential")
                .asString();
        documented("PUT", "/v1/nodes/{id}", api.withKey(credential).putJson("/v1/nodes/n1", registration));
        documented("PUT", "/v1/nodes/{id}", api.withKey(credential).putJson("/v1/nodes/n1", registration));
        documented("GET", "/v1/nodes", admin.get("/v1/nodes"));
        documented("GET", "/v1/nodes/{id}", admin.get("/v1/nodes/n1"));
        documented("POST", "/v1/nodes/{id}:drain", admin.action("/v1/nodes/n1:drain"));
        documented("POST", "/v1/nodes/{id}:undrain", admin.action("/v1/nodes/n1:undrain"));
        documented("DELETE", "/v1/nodes/{id}/credential", admin.delete("/v1/nodes/n1/credential"));
        documented("DELETE", "/v1/nodes/{id}", admin.delete("/v1/nodes/n1"));

        List<String> documentedOperations = new ArrayList<>();
        paths.properties()
                .forEach(path -> path.getValue()
                        .propertyNames()
                        .forEach(method -> documentedOperations.add(method.toUpperCase() + " " + path.getKey())));
        assertThat(documentedOperations)
                .as("every operation of the contract is called here, or said why not")
                .allMatch(operation -> called.contains(operation) || NOT_CALLED.containsKey(operation));
    }

    /**
     * Fails unless {@code response} has a success status that the contract declares for {@code method
     * template}, and, when it has a body, a content type the contract declares for that status.
     */
    private HttpResponse<String> documented(String method, String template, HttpResponse<String> response) {
        String operation = method + " " + template;
        JsonNode responses = paths.path(template).path(method.toLowerCase()).path("responses");
        assertThat(responses.isObject())
                .as("the contract documents " + operation)
                .isTrue();
        Set<String> successes = new TreeSet<>();
        responses.propertyNames().forEach(code -> {
            if (code.startsWith("2")) {
                successes.add(code);
            }
        });
        String status = Integer.toString(response.statusCode());
        assertThat(successes)
                .as("%s answered %s (%s); the contract declares %s", operation, status, response.body(), successes)
                .containsAnyOf(status, "2XX");
        JsonNode content =
                responses.path(successes.contains(status) ? status : "2XX").path("content");
        if (!response.body().isEmpty() && content.isObject()) {
            String answered = response.headers()
                    .firstValue("Content-Type")
                    .orElse("")
                    .replaceAll(";.*", "")
                    .trim();
            List<String> declared = new ArrayList<>(content.propertyNames());
            assertThat(declared)
                    .as("%s answered %s as %s; the contract declares %s", operation, status, answered, declared)
                    .containsAnyOf(answered, "*/*");
        }
        called.add(operation);
        return response;
    }

    private void succeeded(String operationId) {
        JsonNode finished = api.awaitFinished(operationId);
        assertThat(finished.path("state").asString()).as(finished.toString()).isEqualTo("succeeded");
    }

    private static String id(HttpResponse<String> response) {
        return id(ApiClient.json(response));
    }

    private static String id(JsonNode resource) {
        return ApiClient.id(resource);
    }

    private static String createImage(String name) {
        return "{\"name\":\"" + name + "\",\"sizeBytes\":" + SIZE + "}";
    }

    private static String importImage() throws IOException {
        Path file = sources.resolve("source.raw");
        if (!Files.exists(file)) {
            Files.write(file, ImageAndDiskApiIT.imageContent(SIZE));
        }
        return "{\"name\":\"" + ImageAndDiskApiIT.unique("imp") + "\",\"source\":{\"url\":\"" + file.toUri() + "\"}}";
    }
}
