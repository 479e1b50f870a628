package dev.sprig.node.http;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** A plain HTTP client of the node API, as curl or api-server would use it. */
final class NodeClient {

    static final JsonMapper JSON = JsonMapper.builder().build();

    private final HttpClient http = HttpClient.newHttpClient();
    private final String base;
    private final String token;

    NodeClient(int port, String token) {
        this.base = "http://127.0.0.1:" + port;
        this.token = token;
    }

    NodeClient withToken(String other) {
        return new NodeClient(Integer.parseInt(base.substring(base.lastIndexOf(':') + 1)), other);
    }

    HttpResponse<String> get(String path) {
        return send(request(path).GET(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<byte[]> getBytes(String path) {
        return send(request(path).GET(), HttpResponse.BodyHandlers.ofByteArray());
    }

    HttpResponse<String> post(String path, String json) {
        return send(
                request(path)
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(json)),
                HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> post(String path) {
        return send(request(path).POST(HttpRequest.BodyPublishers.noBody()), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> delete(String path) {
        return send(request(path).DELETE(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> put(String path, byte[] body) {
        return put(path, "application/octet-stream", body);
    }

    HttpResponse<String> put(String path, String contentType, byte[] body) {
        return send(
                request(path).header("Content-Type", contentType).PUT(HttpRequest.BodyPublishers.ofByteArray(body)),
                HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> putJson(String path, String json) {
        return send(
                request(path).header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(json)),
                HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> put(String path, HttpRequest.BodyPublisher body) {
        return send(
                request(path).header("Content-Type", "application/octet-stream").PUT(body),
                HttpResponse.BodyHandlers.ofString());
    }

    byte[] read(long lcId, long offset, int length) {
        HttpResponse<byte[]> response = getBytes("/v1/lcs/" + lcId + "/data?offset=" + offset + "&length=" + length);
        if (response.statusCode() != 200) {
            throw new AssertionError("read failed: " + response.statusCode() + " " + new String(response.body()));
        }
        return response.body();
    }

    void write(long lcId, long offset, byte[] bytes) {
        HttpResponse<String> response = put("/v1/lcs/" + lcId + "/data?offset=" + offset, bytes);
        if (response.statusCode() != 204) {
            throw new AssertionError("write failed: " + response.statusCode() + " " + response.body());
        }
    }

    void define(String lcsJson) {
        HttpResponse<String> response = post("/v1/lcs:batchDefine", "{\"lcs\":" + lcsJson + "}");
        if (response.statusCode() != 200) {
            throw new AssertionError("define failed: " + response.statusCode() + " " + response.body());
        }
    }

    static JsonNode json(HttpResponse<String> response) {
        return JSON.readTree(response.body());
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(base + path));
        return token.isEmpty() ? builder : builder.header("Authorization", "Bearer " + token);
    }

    private <T> HttpResponse<T> send(HttpRequest.Builder request, HttpResponse.BodyHandler<T> handler) {
        try {
            return http.send(request.build(), handler);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
