package dev.sprig.agent.route;

import dev.sprig.client.ApiException;
import dev.sprig.client.AttachmentView;
import dev.sprig.client.DiskPage;
import dev.sprig.client.DiskView;
import dev.sprig.client.DropMember;
import dev.sprig.client.Problem;
import dev.sprig.client.ReplicaColumnView;
import dev.sprig.client.ReplicaMemberView;
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
 * disks, with the API key, and reports failed replica-set members ({@code POST
 * /v1/disks/{id}/attachment:dropMember}). An attachment's NBD URIs carry data tokens that expire
 * ({@code expiresAt}); the disk fetches it again before then.
 */
public final class Attachments {

    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final URI api;
    private final String apiKey;
    private final String holder;

    /** Attachments held by this process ({@link #thisProcess()}). */
    public Attachments(URI api, String apiKey) {
        this(api, apiKey, thisProcess());
    }

    /** @param holder the name this agent's write leases are held under (api-server's holder rules) */
    public Attachments(URI api, String apiKey, String holder) {
        this.api = api;
        this.apiKey = apiKey;
        this.holder = holder;
    }

    /**
     * {@code sprig-agent@<host>:<pid>}: distinct for every agent process, so that one agent's detach
     * never ends another's lease on the same disk; characters api-server does not take become '-'.
     */
    public static String thisProcess() {
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException unknown) {
            host = "localhost";
        }
        String name = "sprig-agent@" + host + ":" + ProcessHandle.current().pid();
        name = name.replaceAll("[^A-Za-z0-9._:@-]", "-");
        return name.length() > 128 ? name.substring(name.length() - 128) : name;
    }

    public String holder() {
        return holder;
    }

    /** The disk's read-write attachment, which takes or renews this agent's write lease on it. */
    public Attachment of(String externId) throws IOException, UnknownDiskException {
        HttpResponse<String> response = send(HttpRequest.newBuilder(
                        attachmentOf(externId, "?holder=" + URLEncoder.encode(holder, StandardCharsets.UTF_8)))
                .GET());
        if (response.statusCode() == 404 || response.statusCode() == 400) {
            throw new UnknownDiskException(externId);
        }
        if (response.statusCode() != 200) {
            throw new IOException("api-server answered " + response.statusCode() + " for the attachment of " + externId
                    + ": " + response.body());
        }
        return parse(Wire.read(response.body(), AttachmentView.class));
    }

    /**
     * Reports that {@code member.nodeId()} failed in column {@code member.column()} at epoch
     * {@code member.epoch()}; api-server marks it stale, bumps the epoch, raises the fences of the
     * others and answers the new attachment.
     *
     * @throws InsufficientReplicasException dropping it would leave the column fewer than
     *     min-in-sync members; nothing changed
     */
    public Attachment dropMember(String externId, DropMember member)
            throws IOException, UnknownDiskException, InsufficientReplicasException {
        // the answer renews this agent's write lease, as a fetch does: its tokens run as long
        HttpResponse<String> response = send(HttpRequest.newBuilder(attachmentOf(
                        externId, ":dropMember?holder=" + URLEncoder.encode(holder, StandardCharsets.UTF_8)))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(Wire.write(member))));
        if (response.statusCode() == 404 || response.statusCode() == 400) {
            throw new UnknownDiskException(externId);
        }
        if (response.statusCode() == 503) {
            Problem problem = new ApiException(503, response.body()).problem();
            if (problem != null && "INSUFFICIENT_REPLICAS".equals(problem.code())) {
                throw new InsufficientReplicasException(
                        problem.detail() != null ? problem.detail() : "too few replicas would remain");
            }
        }
        if (response.statusCode() != 200) {
            throw new IOException("api-server answered " + response.statusCode() + " dropping " + member.nodeId()
                    + " from column " + member.column() + " of " + externId + ": " + response.body());
        }
        return parse(Wire.read(response.body(), AttachmentView.class));
    }

    /**
     * Ends this agent's write lease on the disk ({@code DELETE /v1/disks/{id}/attachment}), once no
     * connection of its uses the disk. A disk that is gone has no lease left to end.
     */
    public void detach(String externId) throws IOException, UnknownDiskException {
        HttpResponse<String> response = send(HttpRequest.newBuilder(
                        attachmentOf(externId, "?holder=" + URLEncoder.encode(holder, StandardCharsets.UTF_8)))
                .DELETE());
        if (response.statusCode() != 204 && response.statusCode() != 404) {
            throw new IOException(
                    "api-server answered " + response.statusCode() + " detaching " + externId + ": " + response.body());
        }
    }

    private URI attachmentOf(String externId, String action) throws UnknownDiskException {
        if (externId.isEmpty() || externId.length() > 200) {
            throw new UnknownDiskException(externId);
        }
        return api.resolve("/v1/disks/" + URLEncoder.encode(externId, StandardCharsets.UTF_8) + "/attachment" + action);
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
        return send(HttpRequest.newBuilder(api.resolve(path)).GET());
    }

    private HttpResponse<String> send(HttpRequest.Builder request) throws IOException {
        HttpRequest built = request.header("Authorization", "Bearer " + apiKey)
                .timeout(Duration.ofSeconds(30))
                .build();
        try {
            return http.send(built, HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
            throw new IOException(
                    "interrupted while asking api-server for " + built.uri().getPath(), interrupted);
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
        long expiresAt = view.expiresAt().toEpochMilli();
        long refreshAt = nowMillis + Math.max(1_000, (expiresAt - nowMillis) * 2 / 3);
        // an api-server without replica sets leaves columns out (null) or empty: the flat nodes are the columns
        boolean replicated = view.columns() != null && !view.columns().isEmpty();
        List<ReplicaColumn> columns = replicated ? columns(view.columns()) : flat(view);
        return new Attachment(
                view.externId(), view.lcId(), view.sizeBytes(), view.pcSizeBytes(), columns, replicated, refreshAt);
    }

    private static List<ReplicaColumn> flat(AttachmentView view) {
        List<ReplicaColumn> columns = new ArrayList<>(view.nodes().size());
        view.nodes()
                .forEach(node -> columns.add(new ReplicaColumn(
                        columns.size(),
                        0,
                        List.of(new ReplicaMember(node.nodeId(), NodeExport.of(node.nbd()))),
                        List.of())));
        return columns;
    }

    private static List<ReplicaColumn> columns(List<ReplicaColumnView> views) {
        List<ReplicaColumn> columns = new ArrayList<>(views.size());
        for (ReplicaColumnView view : views) {
            if (view.column() != columns.size()) {
                throw new IllegalArgumentException("column " + view.column() + " listed at position " + columns.size());
            }
            List<ReplicaMember> inSync = new ArrayList<>();
            List<ReplicaMember> rebuilding = new ArrayList<>();
            List<String> stale = new ArrayList<>();
            for (ReplicaMemberView member : view.members()) {
                switch (MemberRole.of(member.state(), member.nbd())) {
                    case READS_AND_WRITES ->
                        inSync.add(new ReplicaMember(member.nodeId(), NodeExport.of(member.nbd())));
                    case WRITES_ONLY -> rebuilding.add(new ReplicaMember(member.nodeId(), NodeExport.of(member.nbd())));
                    case IGNORED -> stale.add(member.nodeId());
                }
            }
            columns.add(new ReplicaColumn(view.column(), view.epoch(), inSync, rebuilding, stale));
        }
        return columns;
    }
}
