package dev.sprig.agent.route;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Fetches attachments from api-server ({@code GET /v1/disks/{id}/attachment}), and the list of
 * disks, with the API key. An attachment's NBD URIs carry data tokens that expire
 * ({@code expiresAt}); the disk fetches it again before then.
 */
public final class Attachments {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final URI api;
    private final String apiKey;

    public Attachments(URI api, String apiKey) {
        this.api = api;
        this.apiKey = apiKey;
    }

    public Attachment of(String externId) throws IOException, UnknownDiskException {
        if (externId.isEmpty() || externId.length() > 200) {
            throw new UnknownDiskException(externId);
        }
        HttpResponse<String> response =
                get("/v1/disks/" + URLEncoder.encode(externId, StandardCharsets.UTF_8) + "/attachment");
        if (response.statusCode() == 404 || response.statusCode() == 400) {
            throw new UnknownDiskException(externId);
        }
        if (response.statusCode() != 200) {
            throw new IOException("api-server answered " + response.statusCode() + " for the attachment of " + externId
                    + ": " + response.body());
        }
        return parse(JSON.readTree(response.body()));
    }

    /** The ids of the caller's disks in creation order, at most {@code limit} of them. */
    public List<String> diskIds(int limit) throws IOException {
        List<String> ids = new ArrayList<>();
        String pageToken = null;
        do {
            String query = "/v1/disks?pageSize=1000"
                    + (pageToken == null ? "" : "&pageToken=" + URLEncoder.encode(pageToken, StandardCharsets.UTF_8));
            HttpResponse<String> response = get(query);
            if (response.statusCode() != 200) {
                throw new IOException(
                        "api-server answered " + response.statusCode() + " listing disks: " + response.body());
            }
            JsonNode page = JSON.readTree(response.body());
            for (JsonNode disk : page.path("items")) {
                if (ids.size() == limit) {
                    return ids;
                }
                ids.add(disk.path("externId").asString());
            }
            pageToken = page.path("nextPageToken").isString()
                    ? page.path("nextPageToken").asString()
                    : null;
        } while (pageToken != null);
        return ids;
    }

    private HttpResponse<String> get(String path) throws IOException {
        HttpRequest request = HttpRequest.newBuilder(api.resolve(path))
                .header("Authorization", "Bearer " + apiKey)
                .timeout(Duration.ofSeconds(30))
                .GET()
                .build();
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while asking api-server for " + path, interrupted);
        }
    }

    static Attachment parse(JsonNode json) {
        return parse(json, System.currentTimeMillis());
    }

    /**
     * @param nowMillis when the attachment was fetched: it is refreshed two thirds of the way from
     *     then to its {@code expiresAt}, and at least a second on (a clock far off api-server's must
     *     not turn every request into a fetch)
     */
    static Attachment parse(JsonNode json, long nowMillis) {
        List<NodeExport> nodes = new ArrayList<>();
        json.path("nodes")
                .forEach(node -> nodes.add(NodeExport.of(node.path("nbd").asString())));
        long refreshAt = Long.MAX_VALUE;
        if (json.path("expiresAt").isString()) {
            long expiresAt = Instant.parse(json.path("expiresAt").asString()).toEpochMilli();
            refreshAt = nowMillis + Math.max(1_000, (expiresAt - nowMillis) * 2 / 3);
        }
        return new Attachment(
                json.path("externId").asString(),
                json.path("lcId").asLong(),
                json.path("sizeBytes").asLong(),
                json.path("pcSizeBytes").asLong(),
                nodes,
                refreshAt);
    }
}
