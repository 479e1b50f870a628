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
    @Calls("POST /v1/images")
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
    @Calls("PUT /v1/images/{id}/file")
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
    @Calls("POST /v1/images/{id}:evict")
    public void evict(String imageId) throws IOException {
        expect(
                204,
                send(request("/v1/images/" + encode(imageId) + ":evict")
                        .POST(HttpRequest.BodyPublishers.noBody())
                        .build()));
    }

    /** {@code POST /v1/disks}: one clone, answered once it exists. */
    @Calls("POST /v1/disks")
    public DiskView createDisk(CreateDisk disk) throws IOException {
        return Wire.read(expect(201, create("/v1/disks", disk)), DiskView.class);
    }

    /** {@code POST /v1/disks:batchCreate}. */
    @Calls("POST /v1/disks:batchCreate")
    public Batch batchCreate(BatchCreate batch) throws IOException {
        HttpResponse<String> answer = create("/v1/disks:batchCreate", batch);
        if (answer.statusCode() == 202) {
            return new Batch.Waiting(Wire.read(answer.body(), OperationView.class));
        }
        return new Batch.Created(
                Wire.read(expect(201, answer), BatchCreated.class).disks());
    }

    /** {@code POST /v1/disks/{id}/snapshots}: the disk's lc is frozen and the disk goes on in a new one. */
    @Calls("POST /v1/disks/{id}/snapshots")
    public SnapshotView snapshot(String diskId, CreateSnapshot snapshot) throws IOException {
        return Wire.read(
                expect(201, create("/v1/disks/" + encode(diskId) + "/snapshots", snapshot)), SnapshotView.class);
    }

    /** {@code POST /v1/disks/{id}:resize}: the disk at its new size. */
    @Calls("POST /v1/disks/{id}:resize")
    public DiskView resize(String diskId, ResizeDisk resize) throws IOException {
        return Wire.read(expect(200, create("/v1/disks/" + encode(diskId) + ":resize", resize)), DiskView.class);
    }

    /**
     * {@code POST /v1/disks/{id}:revert}: the disk, reading as the snapshot again (409 while someone
     * holds it for writing, or when the snapshot is not on its chain).
     */
    @Calls("POST /v1/disks/{id}:revert")
    public DiskView revert(String diskId, RevertDisk revert) throws IOException {
        return Wire.read(expect(200, create("/v1/disks/" + encode(diskId) + ":revert", revert)), DiskView.class);
    }

    @Calls("DELETE /v1/disks/{id}")
    public void deleteDisk(String diskId) throws IOException {
        expect(204, send(request("/v1/disks/" + encode(diskId)).DELETE().build()));
    }

    /** One page of {@code GET /v1/disks}, in creation order. */
    @Calls("GET /v1/disks")
    public DiskPage disks(@Nullable String namePrefix, int pageSize, @Nullable String pageToken) throws IOException {
        return disks(namePrefix == null ? Filter.ALL : Filter.namePrefix(namePrefix), pageSize, pageToken);
    }

    /** One page of {@code GET /v1/disks} with {@code filter} (its source: the disks cloned from it). */
    @Calls("GET /v1/disks")
    public DiskPage disks(Filter filter, int pageSize, @Nullable String pageToken) throws IOException {
        return Wire.read(
                get("/v1/disks?pageSize=" + pageSize + filter.query("sourceId") + token(pageToken)), DiskPage.class);
    }

    /** Every disk that {@code filter} keeps, page after page of {@code pageSize}. */
    public List<DiskView> allDisks(Filter filter, int pageSize) throws IOException {
        return all(token -> disks(filter, pageSize, token), DiskPage::items, DiskPage::nextPageToken);
    }

    /**
     * {@code GET /v1/snapshots}: a page of snapshots, oldest first; of one disk when {@code diskId}
     * is given (a disk that does not exist is a 404).
     */
    @Calls("GET /v1/snapshots")
    public SnapshotPage snapshots(@Nullable String diskId, int pageSize, @Nullable String pageToken)
            throws IOException {
        return snapshots(diskId == null ? Filter.ALL : Filter.ALL.withSource(diskId), pageSize, pageToken);
    }

    /** One page of {@code GET /v1/snapshots} with {@code filter} (its source: the disk they were taken of). */
    @Calls("GET /v1/snapshots")
    public SnapshotPage snapshots(Filter filter, int pageSize, @Nullable String pageToken) throws IOException {
        return Wire.read(
                get("/v1/snapshots?pageSize=" + pageSize + filter.query("diskId") + token(pageToken)),
                SnapshotPage.class);
    }

    /**
     * One page of {@code GET /v1/disks/{id}/snapshots} with {@code filter} (whose source must be
     * unset: it is the disk).
     */
    @Calls("GET /v1/disks/{id}/snapshots")
    public SnapshotPage snapshotsOf(String diskId, Filter filter, int pageSize, @Nullable String pageToken)
            throws IOException {
        return Wire.read(
                get("/v1/disks/" + encode(diskId) + "/snapshots?pageSize=" + pageSize + filter.query(null)
                        + token(pageToken)),
                SnapshotPage.class);
    }

    /** Every snapshot (of {@code diskId}, when given), page after page of {@code pageSize}. */
    public List<SnapshotView> allSnapshots(@Nullable String diskId, int pageSize) throws IOException {
        return all(token -> snapshots(diskId, pageSize, token), SnapshotPage::items, SnapshotPage::nextPageToken);
    }

    /** Every snapshot that {@code filter} keeps, page after page of {@code pageSize}. */
    public List<SnapshotView> allSnapshots(Filter filter, int pageSize) throws IOException {
        return all(token -> snapshots(filter, pageSize, token), SnapshotPage::items, SnapshotPage::nextPageToken);
    }

    /** Every disk whose name starts with {@code namePrefix}, page after page of {@code pageSize}. */
    public List<DiskView> allDisks(String namePrefix, int pageSize) throws IOException {
        return allDisks(Filter.namePrefix(namePrefix), pageSize);
    }

    /** {@code GET /v1/disks/{id}}. */
    @Calls("GET /v1/disks/{id}")
    public DiskView getDisk(String diskId) throws IOException {
        return Wire.read(get("/v1/disks/" + encode(diskId)), DiskView.class);
    }

    /** {@code PATCH /v1/disks/{id}}: its labels changed by {@code update} (null values remove). */
    @Calls("PATCH /v1/disks/{id}")
    public DiskView relabelDisk(String diskId, UpdateLabels update) throws IOException {
        return Wire.read(patch("/v1/disks/" + encode(diskId), update), DiskView.class);
    }

    /** {@code POST /v1/disks/{id}:flatten}: the flatten operation, to follow with {@link #operation}. */
    @Calls("POST /v1/disks/{id}:flatten")
    public OperationView flatten(String diskId) throws IOException {
        return Wire.read(expect(202, create("/v1/disks/" + encode(diskId) + ":flatten", null)), OperationView.class);
    }

    /** {@code GET /v1/disks/{id}/lineage}, typed: the chain from the disk's lc to its root. */
    @Calls("GET /v1/disks/{id}/lineage")
    public Lineage lineageOf(String diskId) throws IOException {
        return Wire.read(get("/v1/disks/" + encode(diskId) + "/lineage"), Lineage.class);
    }

    /**
     * {@code POST /v1/disks/{id}/attachment:dropMember}: reports a replica that failed a write; the
     * attachment after api-server dropped it ({@code access} and {@code holder} as when attaching: a
     * read-write answer renews the holder's write lease).
     */
    @Calls("POST /v1/disks/{id}/attachment:dropMember")
    public AttachmentView dropMember(String diskId, String access, String holder, DropMember member)
            throws IOException {
        return Wire.read(
                expect(
                        200,
                        send(request("/v1/disks/" + encode(diskId) + "/attachment:dropMember?access=" + encode(access)
                                        + "&holder=" + encode(holder))
                                .header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString(Wire.write(member)))
                                .build())),
                AttachmentView.class);
    }

    /** {@code GET /v1/snapshots/{id}}. */
    @Calls("GET /v1/snapshots/{id}")
    public SnapshotView getSnapshot(String snapshotId) throws IOException {
        return Wire.read(get("/v1/snapshots/" + encode(snapshotId)), SnapshotView.class);
    }

    /** {@code PATCH /v1/snapshots/{id}}: its labels changed by {@code update} (null values remove). */
    @Calls("PATCH /v1/snapshots/{id}")
    public SnapshotView relabelSnapshot(String snapshotId, UpdateLabels update) throws IOException {
        return Wire.read(patch("/v1/snapshots/" + encode(snapshotId), update), SnapshotView.class);
    }

    /**
     * {@code DELETE /v1/snapshots/{id}}: while clones read from it, an {@link ApiException} with
     * {@code HAS_DEPENDENTS}, unless {@code deferred} (hidden now, freed with its last dependent).
     */
    @Calls("DELETE /v1/snapshots/{id}")
    public void deleteSnapshot(String snapshotId, boolean deferred) throws IOException {
        expect(
                204,
                send(request("/v1/snapshots/" + encode(snapshotId) + "?deferred=" + deferred)
                        .DELETE()
                        .build()));
    }

    /** {@code GET /v1/images/{id}}. */
    @Calls("GET /v1/images/{id}")
    public ImageView getImage(String imageId) throws IOException {
        return Wire.read(get("/v1/images/" + encode(imageId)), ImageView.class);
    }

    /** One page of {@code GET /v1/images} with {@code filter} (its source: the URL they were imported from). */
    @Calls("GET /v1/images")
    public ImagePage images(Filter filter, int pageSize, @Nullable String pageToken) throws IOException {
        return Wire.read(
                get("/v1/images?pageSize=" + pageSize + filter.query("sourceUrl") + token(pageToken)), ImagePage.class);
    }

    /** Every image that {@code filter} keeps, page after page of {@code pageSize}. */
    public List<ImageView> allImages(Filter filter, int pageSize) throws IOException {
        return all(token -> images(filter, pageSize, token), ImagePage::items, ImagePage::nextPageToken);
    }

    /** {@code PATCH /v1/images/{id}}: its labels changed by {@code update} (null values remove). */
    @Calls("PATCH /v1/images/{id}")
    public ImageView relabelImage(String imageId, UpdateLabels update) throws IOException {
        return Wire.read(patch("/v1/images/" + encode(imageId), update), ImageView.class);
    }

    /** {@code GET /v1/images/{id}/descendants}: every disk and snapshot that reads from it. */
    @Calls("GET /v1/images/{id}/descendants")
    public Descendants descendants(String imageId) throws IOException {
        return Wire.read(get("/v1/images/" + encode(imageId) + "/descendants"), Descendants.class);
    }

    /**
     * {@code DELETE /v1/images/{id}}: while disks or snapshots read from it, an {@link ApiException}
     * with {@code HAS_DEPENDENTS}, unless {@code deferred}.
     */
    @Calls("DELETE /v1/images/{id}")
    public void deleteImage(String imageId, boolean deferred) throws IOException {
        expect(
                204,
                send(request("/v1/images/" + encode(imageId) + "?deferred=" + deferred)
                        .DELETE()
                        .build()));
    }

    /** What a prefetch answers: the image is cached (200), or the import that caches it (202). */
    public sealed interface Prefetch {

        record Cached(Prefetched image) implements Prefetch {}

        record Importing(OperationView operation) implements Prefetch {}
    }

    /** {@code POST /v1/images/{id}:prefetch}: warms the cache before a launch. */
    @Calls("POST /v1/images/{id}:prefetch")
    public Prefetch prefetch(String imageId) throws IOException {
        HttpResponse<String> answer = create("/v1/images/" + encode(imageId) + ":prefetch", null);
        if (answer.statusCode() == 202) {
            return new Prefetch.Importing(Wire.read(answer.body(), OperationView.class));
        }
        return new Prefetch.Cached(Wire.read(expect(200, answer), Prefetched.class));
    }

    /**
     * One page of {@code GET /v1/operations}, newest first; {@code kind}, {@code state} and
     * {@code targetId} filter when not null.
     */
    @Calls("GET /v1/operations")
    public OperationList operations(
            @Nullable String kind,
            @Nullable String state,
            @Nullable String targetId,
            int pageSize,
            @Nullable String pageToken)
            throws IOException {
        return Wire.read(
                get("/v1/operations?pageSize=" + pageSize + param("kind", kind) + param("state", state)
                        + param("targetId", targetId) + token(pageToken)),
                OperationList.class);
    }

    /** {@code POST /v1/operations/{id}:cancel}: the operation, failed with CANCELLED. */
    @Calls("POST /v1/operations/{id}:cancel")
    public OperationView cancel(String operationId) throws IOException {
        return Wire.read(
                expect(200, create("/v1/operations/" + encode(operationId) + ":cancel", null)), OperationView.class);
    }

    /** {@code GET /v1/nodes}. */
    @Calls("GET /v1/nodes")
    public NodeList nodes() throws IOException {
        return Wire.read(get("/v1/nodes"), NodeList.class);
    }

    /** {@code GET /v1/nodes/{id}}. */
    @Calls("GET /v1/nodes/{id}")
    public NodeView node(String nodeId) throws IOException {
        return Wire.read(get("/v1/nodes/" + encode(nodeId)), NodeView.class);
    }

    /**
     * {@code PUT /v1/nodes/{id}}: registers the node, or heartbeats; this client's key must be the
     * node's credential.
     */
    @Calls("PUT /v1/nodes/{id}")
    public NodeView register(String nodeId, RegisterNode registration) throws IOException {
        HttpResponse<String> answer = send(request("/v1/nodes/" + encode(nodeId))
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(Wire.write(registration)))
                .build());
        return Wire.read(expect(answer.statusCode() == 201 ? 201 : 200, answer), NodeView.class);
    }

    /** {@code POST /v1/nodes/{id}:drain} (admin key): its replica-set memberships move off it. */
    @Calls("POST /v1/nodes/{id}:drain")
    public NodeView drain(String nodeId) throws IOException {
        return Wire.read(expect(200, create("/v1/nodes/" + encode(nodeId) + ":drain", null)), NodeView.class);
    }

    /** {@code POST /v1/nodes/{id}:undrain} (admin key). */
    @Calls("POST /v1/nodes/{id}:undrain")
    public NodeView undrain(String nodeId) throws IOException {
        return Wire.read(expect(200, create("/v1/nodes/" + encode(nodeId) + ":undrain", null)), NodeView.class);
    }

    /** {@code DELETE /v1/nodes/{id}} (admin key): a node that holds nothing any more. */
    @Calls("DELETE /v1/nodes/{id}")
    public void removeNode(String nodeId) throws IOException {
        expect(204, send(request("/v1/nodes/" + encode(nodeId)).DELETE().build()));
    }

    /** {@code DELETE /v1/nodes/{id}/credential} (admin key). */
    @Calls("DELETE /v1/nodes/{id}/credential")
    public void revokeCredential(String nodeId) throws IOException {
        expect(
                204,
                send(request("/v1/nodes/" + encode(nodeId) + "/credential")
                        .DELETE()
                        .build()));
    }

    /** {@code POST /v1/replica-sets:scrub} (admin key): the scrub operation. */
    @Calls("POST /v1/replica-sets:scrub")
    public OperationView scrub() throws IOException {
        return Wire.read(expect(202, create("/v1/replica-sets:scrub", null)), OperationView.class);
    }

    /** {@code GET /v1/operations/{id}}: its state and progress. */
    @Calls("GET /v1/operations/{id}")
    public OperationView operation(String id) throws IOException {
        return Wire.read(
                expect(200, send(request("/v1/operations/" + encode(id)).GET().build())), OperationView.class);
    }

    /** {@code GET /v1/disks/{id}/attachment}, read-write, for the holder {@code unnamed}. */
    @Calls("GET /v1/disks/{id}/attachment")
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
    @Calls("GET /v1/disks/{id}/attachment")
    public AttachmentView attachment(String diskId, String access, String holder) throws IOException {
        String query =
                "/v1/disks/" + encode(diskId) + "/attachment?access=" + encode(access) + "&holder=" + encode(holder);
        return Wire.read(expect(200, send(request(query).GET().build())), AttachmentView.class);
    }

    /** {@code DELETE /v1/disks/{id}/attachment?holder=}: ends {@code holder}'s write lease, if it has one. */
    @Calls("DELETE /v1/disks/{id}/attachment")
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
    @Calls("GET /v1/disks/{id}/lineage")
    public JsonNode lineage(String diskId) throws IOException {
        String body = expect(
                200,
                send(request("/v1/disks/" + encode(diskId) + "/lineage").GET().build()));
        return Wire.tree(body);
    }

    /** {@code GET /v1/cache}. */
    @Calls("GET /v1/cache")
    public CacheStats cache() throws IOException {
        return Wire.read(expect(200, send(request("/v1/cache").GET().build())), CacheStats.class);
    }

    /** {@code POST /v1/nodes/{id}:issueCredential} (admin key). */
    @Calls("POST /v1/nodes/{id}:issueCredential")
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
     * What the listings of images, disks and snapshots keep: every condition given must hold.
     *
     * @param sourceId disks: the image, snapshot or disk they were cloned from; snapshots: their disk;
     *     images: the URL they were imported from
     * @param labels {@code key=value} pairs, all of which must be on the resource
     */
    public record Filter(
            @Nullable String state,
            @Nullable String namePrefix,
            @Nullable String sourceId,
            java.util.Map<String, String> labels) {

        public static final Filter ALL = new Filter(null, null, null, java.util.Map.of());

        public Filter {
            labels = labels == null ? java.util.Map.of() : java.util.Map.copyOf(labels);
        }

        public static Filter namePrefix(String namePrefix) {
            return new Filter(null, namePrefix, null, java.util.Map.of());
        }

        public Filter withState(String only) {
            return new Filter(only, namePrefix, sourceId, labels);
        }

        public Filter withSource(String source) {
            return new Filter(state, namePrefix, source, labels);
        }

        public Filter withLabel(String key, String value) {
            var more = new java.util.TreeMap<>(labels);
            more.put(key, value);
            return new Filter(state, namePrefix, sourceId, more);
        }

        /** As query parameters, each after an {@code &}; the source as {@code sourceParameter}. */
        String query(@Nullable String sourceParameter) {
            if (sourceId != null && sourceParameter == null) {
                throw new IllegalArgumentException("this listing has no source filter");
            }
            StringBuilder query = new StringBuilder(param("state", state)).append(param("namePrefix", namePrefix));
            if (sourceParameter != null) {
                query.append(param(sourceParameter, sourceId));
            }
            new java.util.TreeMap<>(labels).forEach((key, value) -> query.append(param("label", key + "=" + value)));
            return query.toString();
        }
    }

    /** A page fetcher, for {@link #all}. */
    private interface PageCall<P> {
        P page(@Nullable String token) throws IOException;
    }

    private static <P, T> List<T> all(
            PageCall<P> call,
            java.util.function.Function<P, List<T>> items,
            java.util.function.Function<P, @Nullable String> next)
            throws IOException {
        List<T> found = new ArrayList<>();
        String token = null;
        do {
            P page = call.page(token);
            found.addAll(items.apply(page));
            token = next.apply(page);
        } while (token != null);
        return found;
    }

    private String get(String pathAndQuery) throws IOException {
        return expect(200, send(request(pathAndQuery).GET().build()));
    }

    /** A JSON merge patch; its answer's body. */
    private String patch(String path, Object json) throws IOException {
        return expect(
                200,
                send(request(path)
                        .header("Content-Type", "application/merge-patch+json")
                        .method("PATCH", HttpRequest.BodyPublishers.ofString(Wire.write(json)))
                        .build()));
    }

    private static String param(String name, @Nullable String value) {
        return value == null ? "" : "&" + name + "=" + encode(value);
    }

    private static String token(@Nullable String pageToken) {
        return param("pageToken", pageToken);
    }

    /**
     * A create: a POST, with {@link Creates#IDEMPOTENT} with a fresh {@code Idempotency-Key} and sent
     * once more with the same key if it could not be sent or answered, or was answered 5xx.
     */
    private HttpResponse<String> create(String path, @Nullable Object json) throws IOException {
        HttpRequest.Builder builder = json == null
                ? request(path).POST(HttpRequest.BodyPublishers.noBody())
                : request(path)
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
