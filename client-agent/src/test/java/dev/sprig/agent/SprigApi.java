package dev.sprig.agent;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.UUID;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** Sets up images and disks through the REST API, as a script would; fails loudly when refused. */
final class SprigApi {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final HttpClient http = HttpClient.newHttpClient();
    private final URI base;
    private final String key;

    SprigApi(URI base, String key) {
        this.base = base;
        this.key = key;
    }

    /** An available image holding {@code content}; returns its extern_id. */
    String image(byte[] content) {
        JsonNode created = expect(
                201,
                send(request("/v1/images")
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(
                                "{\"name\":\"" + unique("img") + "\",\"sizeBytes\":" + content.length + "}"))));
        String id = created.path("externId").asString();
        expect(
                200,
                send(request("/v1/images/" + id + "/file")
                        .header("Content-Type", "application/octet-stream")
                        .PUT(HttpRequest.BodyPublishers.ofByteArray(content))));
        return id;
    }

    /** A clone of {@code source}; returns its extern_id. */
    String clone(String source) {
        return expect(
                        201,
                        send(request("/v1/disks")
                                .header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString(
                                        "{\"name\":\"" + unique("disk") + "\",\"sourceId\":\"" + source + "\"}"))))
                .path("externId")
                .asString();
    }

    /** Snapshots {@code disk} (its lc is frozen, the disk goes on in a new one); returns the snapshot's extern_id. */
    String snapshot(String disk) {
        return expect(
                        201,
                        send(request("/v1/disks/" + disk + "/snapshots")
                                .header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"" + unique("snap") + "\"}"))))
                .path("externId")
                .asString();
    }

    /** What the agent itself fetches for {@code disk}: its lc, geometry and nodes. */
    JsonNode attachment(String disk) {
        return expect(200, send(request("/v1/disks/" + disk + "/attachment").GET()));
    }

    /** An image imported from {@code file} (a file: source), once its import has succeeded; its extern_id. */
    String imageFrom(java.nio.file.Path file) throws InterruptedException {
        JsonNode importing = expect(
                202,
                send(request("/v1/images")
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"" + unique("src")
                                + "\",\"source\":{\"url\":\"" + file.toUri() + "\"}}"))));
        String operation = importing.path("operationId").asString();
        long deadline = System.nanoTime() + 60_000_000_000L;
        JsonNode now = operation(operation);
        while (now.path("state").asString().equals("running") && System.nanoTime() < deadline) {
            Thread.sleep(100);
            now = operation(operation);
        }
        if (!now.path("state").asString().equals("succeeded")) {
            throw new AssertionError("the import did not succeed: " + now);
        }
        return importing.path("externId").asString();
    }

    JsonNode operation(String id) {
        return expect(200, send(request("/v1/operations/" + id).GET()));
    }

    /** Drops an imported image's cached copy (admin key): its next clone imports it again. */
    void evict(String image) {
        expect(204, send(request("/v1/images/" + image + ":evict").POST(HttpRequest.BodyPublishers.noBody())));
    }

    /** The disks whose names start with {@code prefix}, as GET /v1/disks lists them. */
    JsonNode disksNamed(String prefix) {
        return expect(200, send(request("/v1/disks?namePrefix=" + prefix).GET()))
                .path("items");
    }

    static String unique(String prefix) {
        return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(base.resolve(path)).header("Authorization", "Bearer " + key);
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

    private static JsonNode expect(int status, HttpResponse<String> response) {
        if (response.statusCode() != status) {
            throw new AssertionError(
                    response.request().uri() + " answered " + response.statusCode() + ": " + response.body());
        }
        return response.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(response.body());
    }
}
