package dev.sprig.agent.api;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongConsumer;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * The REST calls the scripted commands make, with the API key. A refusal becomes an
 * {@link ApiException} carrying api-server's problem detail, which the CLI prints as is.
 */
public final class SprigApiClient {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final HttpClient http = HttpClient.newHttpClient();
    private final URI base;
    private final String apiKey;

    public SprigApiClient(URI base, String apiKey) {
        this.base = base;
        this.apiKey = apiKey;
    }

    /** Creates an image named {@code name} and streams {@code file} into it; returns its extern_id. */
    public String importImage(String name, Path file, LongConsumer progress) throws IOException {
        long size = Files.size(file);
        ObjectNode create = JSON.createObjectNode().put("name", name).put("sizeBytes", size);
        String id =
                expect(201, send(post("/v1/images", create))).path("externId").asString();
        HttpRequest.BodyPublisher body = HttpRequest.BodyPublishers.fromPublisher(
                HttpRequest.BodyPublishers.ofInputStream(() -> counting(file, progress)), size);
        expect(
                200,
                send(request("/v1/images/" + encode(id) + "/file")
                        .header("Content-Type", "application/octet-stream")
                        .PUT(body)));
        return id;
    }

    /** {@code count} clones of {@code source}, named {@code prefix-…}; returns their extern_ids. */
    public List<String> cloneDisks(String source, int count, String prefix) throws IOException {
        List<String> ids = new ArrayList<>();
        if (count == 1) {
            ObjectNode create = JSON.createObjectNode().put("name", prefix).put("sourceId", source);
            ids.add(expect(201, send(post("/v1/disks", create)))
                    .path("externId")
                    .asString());
            return ids;
        }
        ObjectNode batch = JSON.createObjectNode()
                .put("sourceId", source)
                .put("count", count)
                .put("namePrefix", prefix);
        expect(201, send(post("/v1/disks:batchCreate", batch)))
                .path("disks")
                .forEach(disk -> ids.add(disk.path("externId").asString()));
        return ids;
    }

    /** The chain from the disk's lc to its root, as api-server answers it. */
    public JsonNode lineage(String disk) throws IOException {
        return expect(
                200, send(request("/v1/disks/" + encode(disk) + "/lineage").GET()));
    }

    public static String pretty(JsonNode json) {
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json);
    }

    private static InputStream counting(Path file, LongConsumer progress) {
        try {
            return new java.io.FilterInputStream(Files.newInputStream(file)) {
                private long sent;

                @Override
                public int read(byte[] buffer, int offset, int length) throws IOException {
                    int read = super.read(buffer, offset, length);
                    if (read > 0) {
                        progress.accept(sent += read);
                    }
                    return read;
                }
            };
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private HttpRequest.Builder post(String path, JsonNode json) {
        return request(path)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(json)));
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(base.resolve(path)).header("Authorization", "Bearer " + apiKey);
    }

    private HttpResponse<String> send(HttpRequest.Builder request) throws IOException {
        try {
            return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", interrupted);
        }
    }

    private static JsonNode expect(int status, HttpResponse<String> response) throws ApiException {
        if (response.statusCode() != status) {
            throw new ApiException(response.statusCode(), response.body());
        }
        return response.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(response.body());
    }

    private static String encode(String id) {
        return URLEncoder.encode(id, StandardCharsets.UTF_8);
    }
}
