package dev.sprig.client;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
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
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;

/**
 * The REST calls of api-server that Sprig's own clients make, with an API key, typed by the records
 * of this package (see {@link Wire}). A refusal becomes an {@link ApiException} carrying api-server's problem detail.
 *
 * <p>Every call but an image's upload waits at most {@link Timeouts#request()} for its answer (an
 * upload takes as long as its bytes do). With {@link Creates#IDEMPOTENT}, every create is a POST with
 * a fresh {@code Idempotency-Key}, sent a second time with the same key when the first try could not
 * connect, broke or timed out, or was answered 5xx: api-server applies it once either way and answers
 * the retry as it answered the first.
 */
public final class SprigApiClient {

    /** How long to wait to connect to api-server, and for the answer to each call. */
    public record Timeouts(Duration connect, Duration request) {}

    /** How creates (POSTs that make something) are sent. */
    public enum Creates {
        /** With a fresh {@code Idempotency-Key} and one retry: what a script wants. */
        IDEMPOTENT,
        /**
         * Once, without a key: what the benchmarks time (api-server's record of a key is work of its
         * own, which they have never measured).
         */
        ONCE
    }

    /** A batch clone's answer: the disks (201), or the operation that imports the image first (202). */
    public sealed interface Batch {

        record Created(List<DiskView> disks) implements Batch {}

        record Waiting(OperationView operation) implements Batch {}
    }

    /** Before the one retry of a create: api-server restarting or its proxy recovering. */
    static final Duration RETRY_AFTER = Duration.ofMillis(500);

    private final HttpClient http;
    private final URI base;
    private final String apiKey;
    private final Timeouts timeouts;
    private final Creates creates;

    public SprigApiClient(URI base, String apiKey, Timeouts timeouts) {
        this(base, apiKey, timeouts, Creates.IDEMPOTENT);
    }

    public SprigApiClient(URI base, String apiKey, Timeouts timeouts, Creates creates) {
        this.base = base;
        this.apiKey = apiKey;
        this.timeouts = timeouts;
        this.creates = creates;
        this.http = HttpClient.newBuilder()
                .connectTimeout(timeouts.connect())
                .version(HttpClient.Version.HTTP_1_1)
                .build();
    }

    /**
     * {@code POST /v1/images}: an image to upload (201), or, with a source, one api-server imports (202,
     * with the import's {@code operationId}).
     */
    public ImageView createImage(CreateImage image) throws IOException {
        return Wire.read(expect(image.source() == null ? 201 : 202, create("/v1/images", image)), ImageView.class);
    }

    /**
     * {@code PUT /v1/images/{id}/file}: streams {@code file} into a created image, telling {@code
     * progress} the bytes sent.
     *
     * <p>api-server that refuses an upload half-way (a storage node failed under it) answers and
     * closes the connection while the rest of the body is still on its way, so the answer is often
     * lost with the connection; the failure is then read from the image itself, which records why.
     */
    public ImageView upload(String imageId, Path file, LongConsumer progress) throws IOException {
        long size = Files.size(file);
        HttpRequest.BodyPublisher body = HttpRequest.BodyPublishers.fromPublisher(
                HttpRequest.BodyPublishers.ofInputStream(() -> counting(file, progress)), size);
        HttpResponse<String> answer;
        try {
            answer = send(HttpRequest.newBuilder(base.resolve("/v1/images/" + encode(imageId) + "/file"))
                    .header("Authorization", "Bearer " + apiKey)
                    .header("Content-Type", "application/octet-stream")
                    .PUT(body)
                    .build());
        } catch (HttpTimeoutException | UncheckedIOException unsent) {
            throw unsent;
        } catch (IOException cutOff) {
            throw new IOException(whyCutOff(imageId, size, cutOff), cutOff);
        }
        return Wire.read(expect(200, answer), ImageView.class);
    }

    /** What the image says of an upload whose connection broke; the break itself if it says nothing. */
    private String whyCutOff(String imageId, long size, IOException cutOff) {
        String broke = "the upload of " + imageId + " broke off (" + cutOff.getMessage() + ")";
        ImageView image;
        try {
            image = Wire.read(
                    expect(
                            200,
                            send(request("/v1/images/" + encode(imageId)).GET().build())),
                    ImageView.class);
        } catch (IOException | RuntimeException unknown) {
            return broke + "; api-server did not say why: " + unknown.getMessage();
        }
        if ("error".equals(image.state()) && image.error() != null) {
            return "api-server refused the upload of " + imageId + " after " + image.bytesReceived() + " of " + size
                    + " bytes: " + image.error();
        }
        return broke + "; api-server has the image " + image.state() + " after " + image.bytesReceived() + " of " + size
                + " bytes";
    }

    /** Creates an image named {@code name} and streams {@code file} into it; returns its extern_id. */
    public String importImage(String name, Path file, LongConsumer progress) throws IOException {
        String id = createImage(CreateImage.upload(name, Files.size(file))).externId();
        upload(id, file, progress);
        return id;
    }

    /** {@code POST :evict} (admin key): drops an imported image's cached copy. */
    public void evict(String imageId) throws IOException {
        expect(
                204,
                send(request("/v1/images/" + encode(imageId) + ":evict")
                        .POST(HttpRequest.BodyPublishers.noBody())
                        .build()));
    }

    /** {@code POST /v1/disks}: one clone, answered once it exists. */
    public DiskView createDisk(CreateDisk disk) throws IOException {
        return Wire.read(expect(201, create("/v1/disks", disk)), DiskView.class);
    }

    /** {@code POST /v1/disks:batchCreate}. */
    public Batch batchCreate(BatchCreate batch) throws IOException {
        HttpResponse<String> answer = create("/v1/disks:batchCreate", batch);
        if (answer.statusCode() == 202) {
            return new Batch.Waiting(Wire.read(answer.body(), OperationView.class));
        }
        return new Batch.Created(
                Wire.read(expect(201, answer), BatchCreated.class).disks());
    }

    /** {@code POST /v1/disks/{id}/snapshots}: the disk's lc is frozen and the disk goes on in a new one. */
    public SnapshotView snapshot(String diskId, CreateSnapshot snapshot) throws IOException {
        return Wire.read(
                expect(201, create("/v1/disks/" + encode(diskId) + "/snapshots", snapshot)), SnapshotView.class);
    }

    /** {@code POST /v1/disks/{id}:resize}: the disk at its new size. */
    public DiskView resize(String diskId, ResizeDisk resize) throws IOException {
        return Wire.read(expect(200, create("/v1/disks/" + encode(diskId) + ":resize", resize)), DiskView.class);
    }

    /**
     * {@code POST /v1/disks/{id}:revert}: the disk, reading as the snapshot again (409 while someone
     * holds it for writing, or when the snapshot is not on its chain).
     */
    public DiskView revert(String diskId, RevertDisk revert) throws IOException {
        return Wire.read(expect(200, create("/v1/disks/" + encode(diskId) + ":revert", revert)), DiskView.class);
    }

    public void deleteDisk(String diskId) throws IOException {
        expect(204, send(request("/v1/disks/" + encode(diskId)).DELETE().build()));
    }

    /** One page of {@code GET /v1/disks}, in creation order. */
    public DiskPage disks(@Nullable String namePrefix, int pageSize, @Nullable String pageToken) throws IOException {
        String query = "/v1/disks?pageSize=" + pageSize
                + (namePrefix == null ? "" : "&namePrefix=" + encode(namePrefix))
                + (pageToken == null ? "" : "&pageToken=" + encode(pageToken));
        return Wire.read(expect(200, send(request(query).GET().build())), DiskPage.class);
    }

    /**
     * {@code GET /v1/snapshots}: a page of snapshots, oldest first; of one disk when {@code diskId}
     * is given (a disk that does not exist is a 404).
     */
    public SnapshotPage snapshots(@Nullable String diskId, int pageSize, @Nullable String pageToken)
            throws IOException {
        String query = "/v1/snapshots?pageSize=" + pageSize
                + (diskId == null ? "" : "&diskId=" + encode(diskId))
                + (pageToken == null ? "" : "&pageToken=" + encode(pageToken));
        return Wire.read(expect(200, send(request(query).GET().build())), SnapshotPage.class);
    }

    /** Every snapshot (of {@code diskId}, when given), page after page of {@code pageSize}. */
    public List<SnapshotView> allSnapshots(@Nullable String diskId, int pageSize) throws IOException {
        List<SnapshotView> found = new ArrayList<>();
        String token = null;
        do {
            SnapshotPage page = snapshots(diskId, pageSize, token);
            found.addAll(page.items());
            token = page.nextPageToken();
        } while (token != null);
        return found;
    }

    /** Every disk whose name starts with {@code namePrefix}, page after page of {@code pageSize}. */
    public List<DiskView> allDisks(String namePrefix, int pageSize) throws IOException {
        List<DiskView> found = new ArrayList<>();
        String token = null;
        do {
            DiskPage page = disks(namePrefix, pageSize, token);
            found.addAll(page.items());
            token = page.nextPageToken();
        } while (token != null);
        return found;
    }

    /** {@code GET /v1/operations/{id}}: its state and progress. */
    public OperationView operation(String id) throws IOException {
        return Wire.read(
                expect(200, send(request("/v1/operations/" + encode(id)).GET().build())), OperationView.class);
    }

    /** {@code GET /v1/disks/{id}/attachment}, read-write, for the holder {@code unnamed}. */
    public AttachmentView attachment(String diskId) throws IOException {
        return Wire.read(
                expect(
                        200,
                        send(request("/v1/disks/" + encode(diskId) + "/attachment")
                                .GET()
                                .build())),
                AttachmentView.class);
    }

    /**
     * {@code GET /v1/disks/{id}/attachment?access=&holder=}: {@code access} is {@code read-write} or
     * {@code read-only}; a read-write one takes or renews {@code holder}'s write lease until its
     * {@code expiresAt}.
     */
    public AttachmentView attachment(String diskId, String access, String holder) throws IOException {
        String query =
                "/v1/disks/" + encode(diskId) + "/attachment?access=" + encode(access) + "&holder=" + encode(holder);
        return Wire.read(expect(200, send(request(query).GET().build())), AttachmentView.class);
    }

    /** {@code DELETE /v1/disks/{id}/attachment?holder=}: ends {@code holder}'s write lease, if it has one. */
    public void detach(String diskId, String holder) throws IOException {
        expect(
                204,
                send(request("/v1/disks/" + encode(diskId) + "/attachment?holder=" + encode(holder))
                        .DELETE()
                        .build()));
    }

    /**
     * The chain from the disk's lc to its root, as api-server answers it: left untyped, since its one
     * user prints it whole.
     */
    public JsonNode lineage(String diskId) throws IOException {
        String body = expect(
                200,
                send(request("/v1/disks/" + encode(diskId) + "/lineage").GET().build()));
        return Wire.tree(body);
    }

    /** {@code GET /v1/cache}. */
    public CacheStats cache() throws IOException {
        return Wire.read(expect(200, send(request("/v1/cache").GET().build())), CacheStats.class);
    }

    /** {@code POST /v1/nodes/{id}:issueCredential} (admin key). */
    public IssuedCredential issueCredential(String nodeId) throws IOException {
        return Wire.read(
                expect(
                        201,
                        send(request("/v1/nodes/" + encode(nodeId) + ":issueCredential")
                                .POST(HttpRequest.BodyPublishers.noBody())
                                .build())),
                IssuedCredential.class);
    }

    private static InputStream counting(Path file, LongConsumer progress) {
        try {
            return new FilterInputStream(Files.newInputStream(file)) {
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
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A create: a POST, with {@link Creates#IDEMPOTENT} with a fresh {@code Idempotency-Key} and sent
     * once more with the same key if it could not be sent or answered, or was answered 5xx.
     */
    private HttpResponse<String> create(String path, Object json) throws IOException {
        HttpRequest.Builder builder = request(path)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(Wire.write(json)));
        if (creates == Creates.ONCE) {
            return send(builder.build());
        }
        HttpRequest request =
                builder.header("Idempotency-Key", UUID.randomUUID().toString()).build();
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

    /** The body of an answer with {@code status}; any other is an {@link ApiException}. */
    private static String expect(int status, HttpResponse<String> response) throws ApiException {
        if (response.statusCode() != status) {
            throw new ApiException(response.statusCode(), response.body());
        }
        return response.body();
    }

    private static String encode(String id) {
        return URLEncoder.encode(id, StandardCharsets.UTF_8);
    }
}
