package dev.sprig.agent.route;

import dev.sprig.client.AttachmentView;
import dev.sprig.client.DiskPage;
import dev.sprig.client.DiskView;
import dev.sprig.client.Wire;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Fetches attachments from api-server ({@code GET /v1/disks/{id}/attachment}), and the list of
 * disks, with the API key. An attachment's NBD URIs carry data tokens that expire
 * ({@code expiresAt}); the disk fetches it again before then.
 */
public final class Attachments {

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
        return parse(Wire.read(response.body(), AttachmentView.class));
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
            DiskPage page = Wire.read(response.body(), DiskPage.class);
            for (DiskView disk : page.items()) {
                if (ids.size() == limit) {
                    return ids;
                }
                ids.add(disk.externId());
            }
            pageToken = page.nextPageToken();
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

    static Attachment parse(AttachmentView view) {
        return parse(view, System.currentTimeMillis());
    }

    /**
     * @param nowMillis when the attachment was fetched: it is refreshed two thirds of the way from
     *     then to its {@code expiresAt}, and at least a second on (a clock far off api-server's must
     *     not turn every request into a fetch)
     */
    static Attachment parse(AttachmentView view, long nowMillis) {
        List<NodeExport> nodes = new ArrayList<>();
        view.nodes().forEach(node -> nodes.add(NodeExport.of(node.nbd())));
        long expiresAt = view.expiresAt().toEpochMilli();
        long refreshAt = nowMillis + Math.max(1_000, (expiresAt - nowMillis) * 2 / 3);
        return new Attachment(view.externId(), view.lcId(), view.sizeBytes(), view.pcSizeBytes(), nodes, refreshAt);
    }
}
