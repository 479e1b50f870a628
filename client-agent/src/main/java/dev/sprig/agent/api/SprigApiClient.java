package dev.sprig.agent.api;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.LongConsumer;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * The REST calls the scripted commands make, with the API key. A refusal becomes an
 * {@link ApiException} carrying api-server's problem detail, which the CLI prints as is.
 *
 * <p>Every call but an image's upload waits at most {@link Timeouts#request()} for its answer (an
 * upload takes as long as its bytes do). Every create is a POST with a fresh {@code Idempotency-Key},
 * sent a second time with the same key when the first try could not connect, broke or timed out, or
 * was answered 5xx: api-server applies it once either way and answers the retry as it answered the
 * first.
 */
public final class SprigApiClient {

    /** How long to wait to connect to api-server, and for the answer to each call. */
    public record Timeouts(Duration connect, Duration request) {}

    /** What a clone answered: the disks, or the operation that makes them once their image is imported. */
    public sealed interface Cloned {

        record Disks(List<String> ids) implements Cloned {}

        record Waiting(String operationId) implements Cloned {}
    }

    private static final JsonMapper JSON = JsonMapper.builder().build();
    /** Before the one retry of a create: api-server restarting or its proxy recovering. */
    static final Duration RETRY_AFTER = Duration.ofMillis(500);

    private final HttpClient http;
    private final URI base;
    private final String apiKey;
    private final Timeouts timeouts;

    public SprigApiClient(URI base, String apiKey, Timeouts timeouts) {
        this.base = base;
        this.apiKey = apiKey;
        this.timeouts = timeouts;
        this.http = HttpClient.newBuilder()
                .connectTimeout(timeouts.connect())
                .version(HttpClient.Version.HTTP_1_1)
                .build();
    }

    /** Creates an image named {@code name} and streams {@code file} into it; returns its extern_id. */
    public String importImage(String name, Path file, LongConsumer progress) throws IOException {
        long size = Files.size(file);
        ObjectNode create = JSON.createObjectNode().put("name", name).put("sizeBytes", size);
        String id = expect(201, create("/v1/images", create)).path("externId").asString();
        HttpRequest.BodyPublisher body = HttpRequest.BodyPublishers.fromPublisher(
                HttpRequest.BodyPublishers.ofInputStream(() -> counting(file, progress)), size);
        expect(
                200,
                send(HttpRequest.newBuilder(base.resolve("/v1/images/" + encode(id) + "/file"))
                        .header("Authorization", "Bearer " + apiKey)
                        .header("Content-Type", "application/octet-stream")
                        .PUT(body)
                        .build()));
        return id;
    }

    /**
     * {@code count} clones of {@code source}, named {@code prefix}, or {@code prefix-0001} … for more
     * than one: the disks, or, for several clones of an image that is not cached, the operation that
     * imports it and then makes them (see {@link #batchDisks}).
     */
    public Cloned cloneDisks(String source, int count, String prefix) throws IOException {
        if (count == 1) {
            ObjectNode create = JSON.createObjectNode().put("name", prefix).put("sourceId", source);
            String id =
                    expect(201, create("/v1/disks", create)).path("externId").asString();
            return new Cloned.Disks(List.of(id));
        }
        ObjectNode batch = JSON.createObjectNode()
                .put("sourceId", source)
                .put("count", count)
                .put("namePrefix", prefix);
        HttpResponse<String> answer = create("/v1/disks:batchCreate", batch);
        if (answer.statusCode() == 202) {
            return new Cloned.Waiting(JSON.readTree(answer.body()).path("id").asString());
        }
        List<String> ids = new ArrayList<>();
        expect(201, answer)
                .path("disks")
                .forEach(disk -> ids.add(disk.path("externId").asString()));
        return new Cloned.Disks(ids);
    }

    /** {@code GET /v1/operations/{id}}: its state ({@code running}, {@code succeeded}, {@code failed}) and progress. */
    public JsonNode operation(String id) throws IOException {
        return expect(200, send(request("/v1/operations/" + encode(id)).GET().build()));
    }

    /**
     * The disks a batch clone of {@code source} made, named {@code prefix-0001} …, in name order: what
     * a clone that waited for its image's import made, once its operation has succeeded.
     */
    public List<String> batchDisks(String source, String prefix) throws IOException {
        List<JsonNode> found = new ArrayList<>();
        String token = null;
        do {
            String query = "/v1/disks?pageSize=1000&namePrefix=" + encode(prefix + "-")
                    + (token == null ? "" : "&pageToken=" + encode(token));
            JsonNode page = expect(200, send(request(query).GET().build()));
            page.path("items").forEach(found::add);
            token = page.path("nextPageToken").isString()
                    ? page.path("nextPageToken").asString()
                    : null;
        } while (token != null);
        return found.stream()
                .filter(disk -> source.equals(disk.path("sourceId").asString()))
                .filter(disk -> disk.path("name")
                        .asString()
                        .substring(prefix.length() + 1)
                        .matches("[0-9]+"))
                .sorted(java.util.Comparator.comparing(disk -> disk.path("name").asString()))
                .map(disk -> disk.path("externId").asString())
                .toList();
    }

    /** The chain from the disk's lc to its root, as api-server answers it. */
    public JsonNode lineage(String disk) throws IOException {
        return expect(
                200,
                send(request("/v1/disks/" + encode(disk) + "/lineage").GET().build()));
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

    /**
     * A create: a POST with a fresh {@code Idempotency-Key}, sent once more with the same key if it
     * could not be sent or answered, or was answered 5xx.
     */
    private HttpResponse<String> create(String path, JsonNode json) throws IOException {
        HttpRequest request = request(path)
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", UUID.randomUUID().toString())
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(json)))
                .build();
        try {
            HttpResponse<String> first = send(request);
            if (first.statusCode() < 500) {
                return first;
            }
        } catch (IOException unanswered) {
            // not sent, or sent and not answered: the key makes the retry safe either way
        }
        try {
            Thread.sleep(RETRY_AFTER.toMillis());
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", interrupted);
        }
        return send(request);
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(base.resolve(path))
                .header("Authorization", "Bearer " + apiKey)
                .timeout(timeouts.request());
    }

    private HttpResponse<String> send(HttpRequest request) throws IOException {
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (HttpConnectTimeoutException timedOut) {
            throw new HttpConnectTimeoutException(
                    "could not connect to " + base + " in " + timeouts.connect().toSeconds() + " s");
        } catch (HttpTimeoutException timedOut) {
            throw new HttpTimeoutException(
                    request.method() + " " + request.uri().getPath() + " got no answer in "
                            + timeouts.request().toSeconds() + " s");
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
