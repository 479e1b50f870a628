package dev.sprig.api;

import dev.sprig.client.CreateDisk;
import dev.sprig.client.CreateImage;
import dev.sprig.client.ImageView;
import dev.sprig.client.IssuedCredential;
import dev.sprig.client.OperationView;
import dev.sprig.client.Wire;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A plain HTTP client of the REST API, as curl or a script would use it: the tests look at api-server's
 * answers as they are (status, headers, JSON). What it writes and reads itself is typed by api-client's
 * records, which ContractTest holds to the contract.
 */
final class ApiClient {

    static final JsonMapper JSON = JsonMapper.builder().build();

    private final HttpClient http = HttpClient.newHttpClient();
    private final int port;
    private final String key;

    ApiClient(int port, String key) {
        this.port = port;
        this.key = key;
    }

    ApiClient withKey(String other) {
        return new ApiClient(port, other);
    }

    HttpResponse<String> get(String path) {
        return send(request(path).GET());
    }

    HttpResponse<String> post(String path, String json) {
        return send(request(path)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)));
    }

    /** A POST without a body (an action such as {@code :flatten}), with extra headers as name, value pairs. */
    HttpResponse<String> action(String path, String... headers) {
        HttpRequest.Builder request = request(path).POST(HttpRequest.BodyPublishers.noBody());
        if (headers.length > 0) {
            request.headers(headers);
        }
        return send(request);
    }

    HttpResponse<String> delete(String path) {
        return send(request(path).DELETE());
    }

    /**
     * Registers (or heartbeats) a node as a storage node does, with a credential this client (an
     * admin) issues for its id first.
     */
    HttpResponse<String> registerNode(String nodeId, String registration) {
        HttpResponse<String> issued = post("/v1/nodes/" + nodeId + ":issueCredential", "");
        if (issued.statusCode() != 201) {
            return issued;
        }
        return withKey(Wire.read(issued.body(), IssuedCredential.class).credential())
                .putJson("/v1/nodes/" + nodeId, registration);
    }

    HttpResponse<String> putJson(String path, String json) {
        return send(request(path)
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(json)));
    }

    /** A PATCH with a JSON merge patch. */
    HttpResponse<String> patch(String path, String json) {
        return send(request(path)
                .header("Content-Type", "application/merge-patch+json")
                .method("PATCH", HttpRequest.BodyPublishers.ofString(json)));
    }

    HttpResponse<String> put(String path, byte[] body) {
        return send(request(path)
                .header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(body)));
    }

    /** Creates an image with a fresh name, uploads {@code content} and returns its extern_id; fails loudly if refused. */
    String availableImage(byte[] content) {
        String name = "img-" + java.util.UUID.randomUUID().toString().substring(0, 8);
        HttpResponse<String> created = post("/v1/images", Wire.write(CreateImage.upload(name, content.length)));
        if (created.statusCode() != 201) {
            throw new AssertionError("image not created: " + created.body());
        }
        String id = Wire.read(created.body(), ImageView.class).externId();
        HttpResponse<String> uploaded = put("/v1/images/" + id + "/file", content);
        if (uploaded.statusCode() != 200) {
            throw new AssertionError("upload refused: " + uploaded.body());
        }
        return id;
    }

    /** {@code POST /v1/disks} from {@code source} under a fresh name, as answered. */
    HttpResponse<String> tryClone(String source) {
        return post("/v1/disks", Wire.write(new CreateDisk(ImageAndDiskApiIT.unique("d"), source)));
    }

    /** A clone of {@code source} under a fresh name; fails loudly if refused. */
    JsonNode clone(String source) {
        HttpResponse<String> response = tryClone(source);
        if (response.statusCode() != 201) {
            throw new AssertionError("clone of " + source + " refused: " + response.body());
        }
        return json(response);
    }

    /** Polls {@code GET /v1/operations/{id}} until the operation has finished (at most a minute); each answer goes to {@code seen}. */
    JsonNode awaitFinished(String operationId, java.util.function.Consumer<JsonNode> seen) {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (true) {
            HttpResponse<String> polled = get("/v1/operations/" + operationId);
            if (polled.statusCode() != 200) {
                throw new AssertionError(
                        "operation " + operationId + " answered " + polled.statusCode() + ": " + polled.body());
            }
            JsonNode now = json(polled);
            seen.accept(now);
            if (!Wire.read(polled.body(), OperationView.class).running()) {
                return now;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("operation still running after a minute: " + now);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    /** Polls {@code GET /v1/operations/{id}} until the operation has finished (at most a minute). */
    JsonNode awaitFinished(String operationId) {
        return awaitFinished(operationId, polled -> {});
    }

    /**
     * The value of the gauge {@code name} on {@code /actuator/prometheus}, the first whose labels
     * include {@code labels} (each {@code key="value"}; none: any, or none at all); fails if there is none.
     */
    double gauge(String name, String... labels) {
        HttpResponse<String> metrics = get("/actuator/prometheus");
        if (metrics.statusCode() != 200) {
            throw new AssertionError("GET /actuator/prometheus answered " + metrics.statusCode());
        }
        return metrics.body()
                .lines()
                .filter(line -> line.startsWith(name + " ") || line.startsWith(name + "{"))
                .filter(line -> {
                    String series = line.substring(0, line.lastIndexOf(' '));
                    return java.util.Arrays.stream(labels).allMatch(series::contains);
                })
                .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)))
                .findFirst()
                .orElseThrow(() ->
                        new AssertionError("no " + name + " " + String.join(",", labels) + " in " + metrics.body()));
    }

    /**
     * {@link #gauge} once it has reached {@code atLeast} (polled for up to 10 s: a counter counts an
     * operation's end after its transaction, so just after a client sees the end); its value then.
     */
    double gaugeReaching(double atLeast, String name, String... labels) {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        double value = gauge(name, labels);
        while (value < atLeast && System.nanoTime() < deadline) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            value = gauge(name, labels);
        }
        return value;
    }

    static String id(JsonNode resource) {
        return resource.path("externId").asString();
    }

    static JsonNode json(HttpResponse<String> response) {
        return JSON.readTree(response.body());
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
        return key.isEmpty() ? builder : builder.header("Authorization", "Bearer " + key);
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
