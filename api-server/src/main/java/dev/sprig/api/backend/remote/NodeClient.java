package dev.sprig.api.backend.remote;

import com.sun.net.httpserver.HttpServer;
import dev.sprig.api.backend.StorageBackend.HeldLc;
import dev.sprig.api.backend.StorageBackend.LcSpec;
import dev.sprig.api.backend.StorageBackend.PcRun;
import dev.sprig.engine.ChunkEngine;
import dev.sprig.nodeapi.AllocationView;
import dev.sprig.nodeapi.BatchDefineRequest;
import dev.sprig.nodeapi.CopyFromRequest;
import dev.sprig.nodeapi.CopyFromResult;
import dev.sprig.nodeapi.CopySource;
import dev.sprig.nodeapi.DefineResult;
import dev.sprig.nodeapi.FenceRequest;
import dev.sprig.nodeapi.FenceView;
import dev.sprig.nodeapi.FillFromRequest;
import dev.sprig.nodeapi.FillFromResult;
import dev.sprig.nodeapi.GrowRequest;
import dev.sprig.nodeapi.Job;
import dev.sprig.nodeapi.LcDefinition;
import dev.sprig.nodeapi.LcSummary;
import dev.sprig.nodeapi.LcView;
import dev.sprig.nodeapi.NodeApi;
import dev.sprig.nodeapi.OwnedSegmentsView;
import dev.sprig.nodeapi.RebuildSourceRequest;
import dev.sprig.nodeapi.RebuildSourceView;
import dev.sprig.nodeapi.RepairRequest;
import dev.sprig.nodeapi.RepairResult;
import dev.sprig.nodeapi.SegmentRepair;
import dev.sprig.nodeapi.SuspectSegments;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpRequest;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.client.BufferingClientHttpRequestFactory;
import org.springframework.http.client.ClientHttpResponse;
import org.springframework.http.client.JdkClientHttpRequestFactory;
import org.springframework.http.converter.json.JacksonJsonHttpMessageConverter;
import org.springframework.web.client.ResourceAccessException;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.RestClientException;
import org.springframework.web.client.support.RestClientAdapter;
import org.springframework.web.service.invoker.HttpServiceProxyFactory;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/**
 * The storage-node HTTP API as api-server calls it: one method per call, each with a timeout. A
 * call that does not get an answer (refused, timed out, 5xx) throws {@link Unanswered}, which may be
 * retried; a 4xx is the node refusing the call and throws {@link Refused}, which may not.
 *
 * <p>The calls go through {@link NodeApi} proxies over {@link RestClient}. A request's timeout is
 * its request factory's, so there is one proxy per node and timeout (control calls, data calls,
 * batch definitions by size in steps of 100 ms), kept.
 */
final class NodeClient {

    /** The node did not answer; the call is idempotent and may be tried again. */
    static final class Unanswered extends RuntimeException {
        Unanswered(String message, @Nullable Throwable cause) {
            super(message, cause);
        }
    }

    /** The node answered with a 4xx: the call itself is wrong for the node's state. */
    static final class Refused extends RuntimeException {
        final int status;

        Refused(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    private final HttpClient http;
    private final JacksonJsonHttpMessageConverter json;
    private final Duration callTimeout;
    private final Duration dataTimeout;
    private final Map<Route, NodeApi> proxies = new ConcurrentHashMap<>();

    /**
     * Writes request bodies (the client streams them from another thread): a pool, not the thread
     * per request the client starts when given none.
     */
    private final ExecutorService bodies = Executors.newCachedThreadPool(body -> {
        var thread = new Thread(body, "node-client-body");
        thread.setDaemon(true);
        return thread;
    });

    NodeClient(HttpClient http, JsonMapper json, Duration callTimeout, Duration dataTimeout) {
        this.http = http;
        this.json = new JacksonJsonHttpMessageConverter(json);
        this.callTimeout = callTimeout;
        this.dataTimeout = dataTimeout;
        warmUp(json);
        warmUpCalls();
    }

    /**
     * Makes a first call of each kind (a GET with a JSON answer, a DELETE without one) through the
     * same RestClient, proxy and JDK client path against a stand-in node on loopback, with time to
     * spare. The first call in a JVM loads and links that whole path, which on a loaded host took
     * longer than a control call's 300 ms, so a node's first real call failed and opened its breaker.
     */
    private void warmUpCalls() {
        HttpServer standIn;
        try {
            standIn = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        } catch (IOException e) {
            return; // only a warm-up
        }
        standIn.createContext("/", exchange -> {
            byte[] body = "GET".equals(exchange.getRequestMethod()) ? "[]".getBytes(StandardCharsets.UTF_8) : null;
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(body == null ? 204 : 200, body == null ? -1 : body.length);
            if (body != null) {
                exchange.getResponseBody().write(body);
            }
            exchange.close();
        });
        standIn.start();
        try {
            var target = new Target(
                    "warm-up", "http://127.0.0.1:" + standIn.getAddress().getPort(), "warm-up");
            NodeApi api = proxy(target, Duration.ofSeconds(30));
            api.list();
            api.delete(0);
        } catch (RuntimeException e) {
            // only a warm-up: a real call reports its own failure
        } finally {
            standIn.stop(0);
        }
    }

    /**
     * Builds Jackson's serializers and deserializers of the node API's records now. The client writes
     * a request body and reads the answer within the call's timeout (300 ms for control calls), and
     * building them on first use, on a loaded host, could spend it before the node is even asked.
     */
    private static void warmUp(JsonMapper json) {
        List<Object> samples = List.of(
                new BatchDefineRequest(List.of(new LcDefinition(1L, null, 1L, false))),
                new DefineResult(1, 0),
                new LcView(1, null, 1, false, 0, 0, 0, 0, 0),
                new LcSummary(1, null, 1, false),
                new CopyFromRequest(new CopySource("http://node", "token", 1L), 0L, 1L),
                new CopyFromResult(0),
                new FenceRequest(2L),
                new FillFromRequest(new CopySource("http://node", "token", 1L), 0L, 1L, 1L),
                new FillFromResult(0, 0, 0),
                new RebuildSourceView(1, "http://node", 1, 0, true, 1, 1),
                new SuspectSegments(List.of(1L)),
                new dev.sprig.nodeapi.SuspectsMarked(1, 0, 1),
                new OwnedSegmentsView(
                        1,
                        0,
                        1,
                        List.of(new OwnedSegmentsView.OwnedPcView(
                                0, List.of(new OwnedSegmentsView.OwnedSegmentView(0, "DATA", List.of(1)))))),
                new FenceView(1, 0, 2),
                new AllocationView(1, List.of(new dev.sprig.nodeapi.PcRun(0, 1))),
                new Job("flatten", 1L, Job.State.RUNNING, 0, 0, Instant.EPOCH, null, null, List.of()));
        for (Object sample : samples) {
            json.readValue(json.writeValueAsBytes(sample), sample.getClass());
        }
        json.readValue("[]", new TypeReference<List<LcSummary>>() {});
        json.readValue("[]", new TypeReference<List<FenceView>>() {});
    }

    void define(Target node, List<LcSpec> lcs) {
        var request = new BatchDefineRequest(lcs.stream()
                .map(lc -> new LcDefinition(lc.lcId(), lc.parentLcId(), lc.sizeBytes(), lc.frozen()))
                .toList());
        // a bulk clone is one request; allow for its size on top of the control-call budget, 0.1 ms
        // an lc, rounded to 100 ms so that a few timeouts (and their proxies, kept) serve every size
        NodeApi api = api(node, callTimeout.plusMillis((lcs.size() / 10L + 50L) / 100L * 100L));
        call("POST /v1/lcs:batchDefine", () -> api.define(request));
    }

    /** A freeze flushes the lc's unflushed writes on the node first: it gets the data timeout. */
    void freeze(Target node, long lcId) {
        call("POST /v1/lcs/" + lcId + ":freeze", () -> api(node, dataTimeout).freeze(lcId));
    }

    /** Grows a writable lc: a metadata change, one journal force on the node. */
    void grow(Target node, long lcId, long sizeBytes) {
        call("POST /v1/lcs/" + lcId + ":grow", () -> api(node, callTimeout).grow(lcId, new GrowRequest(sizeBytes)));
    }

    void delete(Target node, long lcId) {
        run("DELETE /v1/lcs/" + lcId, () -> api(node, callTimeout).delete(lcId));
    }

    void write(Target node, long lcId, long offset, ByteBuffer bytes) {
        byte[] array = toArray(bytes);
        run("PUT /v1/lcs/" + lcId + "/data", () -> api(node, dataTimeout).write(lcId, offset, array));
    }

    byte[] read(Target node, long lcId, long offset, int length) {
        byte[] bytes = call(
                "GET /v1/lcs/" + lcId + "/data", () -> api(node, dataTimeout).read(lcId, offset, length));
        // an empty body reads as null
        return bytes != null ? bytes : new byte[0];
    }

    /**
     * Has {@code node} copy a range of lc {@code sourceLcId} from {@code source} into its lc
     * {@code lcId}, node to node; the bytes it stored.
     */
    long copyFrom(Target node, long lcId, Target source, long sourceLcId, long offset, long length) {
        var request =
                new CopyFromRequest(new CopySource(source.httpEndpoint(), source.token(), sourceLcId), offset, length);
        return call(
                        "POST /v1/lcs/" + lcId + ":copyFrom",
                        () -> api(node, dataTimeout).copyFrom(lcId, request))
                .bytesStored();
    }

    /** The runs of PCs the node holds anything in for the lc (itself or its ancestors). */
    List<PcRun> allocation(Target node, long lcId) {
        return call(
                        "GET /v1/lcs/" + lcId + "/allocation",
                        () -> api(node, dataTimeout).allocation(lcId))
                .pcRuns()
                .stream()
                .map(run -> new PcRun(run.firstPc(), run.pcCount()))
                .toList();
    }

    /**
     * What the lc holds itself on the node in PCs {@code firstPc}, {@code firstPc + pcStride}, …
     * below {@code firstPc + pcCount}, with the block CRCs of data segments if {@code crcs}.
     */
    OwnedSegmentsView segments(
            Target node, long lcId, long firstPc, long pcCount, long pcStride, boolean crcs, boolean digest) {
        return call(
                "GET /v1/lcs/" + lcId + "/segments",
                () -> api(node, dataTimeout).segments(lcId, firstPc, pcCount, pcStride, crcs, digest));
    }

    /**
     * Has {@code node} fill the {@code pcCount} PCs {@code firstPc}, {@code firstPc + pcStride}, … of
     * its lc from {@code source}'s lc, at most {@code bytesPerSecond}; the bytes it copied. The call
     * may take as long as the throttle makes its PCs take, on top of the data timeout (rounded up to
     * whole seconds, so that a few proxies serve every rate).
     */
    long fillFrom(
            Target node,
            long lcId,
            Target source,
            long sourceLcId,
            long firstPc,
            long pcCount,
            long pcStride,
            long bytesPerSecond) {
        var request = new FillFromRequest(
                new CopySource(source.httpEndpoint(), source.token(), sourceLcId),
                firstPc,
                pcCount,
                bytesPerSecond,
                pcStride);
        long throttledSeconds = (pcCount * ChunkEngine.PC_SIZE + bytesPerSecond - 1) / bytesPerSecond;
        Duration timeout = Duration.ofSeconds(dataTimeout.toSeconds() + 1 + 2 * throttledSeconds);
        return call(
                        "POST /v1/lcs/" + lcId + ":fillFrom",
                        () -> api(node, timeout).fillFrom(lcId, request))
                .bytesCopied();
    }

    /**
     * Makes lc {@code lcId} on {@code sources}, tried in order, the rebuild sources of the same lc on
     * {@code node} for the PCs of {@code columns} (of {@code columnCount}).
     */
    void setRebuildSources(Target node, long lcId, List<Target> sources, Set<Integer> columns, int columnCount) {
        List<CopySource> alternates = sources.stream()
                .skip(1)
                .map(source -> new CopySource(source.httpEndpoint(), source.token(), lcId))
                .toList();
        var request = new RebuildSourceRequest(
                sources.get(0).httpEndpoint(), sources.get(0).token(), lcId, alternates);
        List<Integer> column = columns.stream().sorted().toList();
        call(
                "PUT /v1/lcs/" + lcId + "/rebuildSource?column=" + column,
                () -> api(node, callTimeout).setRebuildSources(lcId, request, column, columnCount));
    }

    /** Makes lc {@code lcId} of {@code source} the rebuild source of the same lc on {@code node}. */
    void setRebuildSource(Target node, long lcId, Target source) {
        var request = new CopySource(source.httpEndpoint(), source.token(), lcId);
        call(
                "PUT /v1/lcs/" + lcId + "/rebuildSource",
                () -> api(node, callTimeout).setRebuildSource(lcId, request));
    }

    /**
     * Makes lc {@code lcId} of {@code source} the rebuild source of the same lc on {@code node} for a
     * catch-up of column {@code column} of {@code columns}: every segment it holds there is suspect.
     */
    void setCatchUpSource(Target node, long lcId, Target source, int column, int columns) {
        var request = new CopySource(source.httpEndpoint(), source.token(), lcId);
        call(
                "PUT /v1/lcs/" + lcId + "/rebuildSource?catchUpColumn=" + column,
                () -> api(node, callTimeout).setCatchUpSource(lcId, request, column, columns));
    }

    /** Names the lc's segments that differ from its source; the number made suspect. */
    long markSuspects(Target node, long lcId, List<Long> segments) {
        return call(
                        "POST /v1/lcs/" + lcId + "/rebuildSource/suspects",
                        () -> api(node, dataTimeout).markSuspects(lcId, new SuspectSegments(segments)))
                .marked();
    }

    /**
     * Has {@code node} replace its lc's {@code suspects} suspect segments from its rebuild source, at
     * most {@code bytesPerSecond}; the bytes it fetched. May take as long as the throttle makes them
     * take, twice, on top of the data timeout.
     */
    long fillSuspects(Target node, long lcId, long suspects, long bytesPerSecond) {
        long throttledSeconds = (suspects * ChunkEngine.SEGMENT_SIZE + bytesPerSecond - 1) / bytesPerSecond;
        Duration timeout = Duration.ofSeconds(dataTimeout.toSeconds() + 1 + 2 * throttledSeconds);
        return call(
                        "POST /v1/lcs/" + lcId + "/rebuildSource/suspects:fill",
                        () -> api(node, timeout).fillSuspects(lcId, bytesPerSecond))
                .bytesCopied();
    }

    /** Whether the lc has a rebuild source on the node (a node that restarted has none). */
    boolean hasRebuildSource(Target node, long lcId) {
        return rebuildSource(node, lcId) != null;
    }

    /** The lc's rebuild source on the node, or null when it has none (a node that restarted has none). */
    @Nullable
    RebuildSourceView rebuildSource(Target node, long lcId) {
        try {
            return call(
                    "GET /v1/lcs/" + lcId + "/rebuildSource",
                    () -> api(node, callTimeout).rebuildSource(lcId));
        } catch (Refused refused) {
            if (refused.status == 404) {
                return null;
            }
            throw refused;
        }
    }

    void removeCatchUpSource(Target node, long lcId, int column) {
        run(
                "DELETE /v1/lcs/" + lcId + "/rebuildSource?catchUpColumn=" + column,
                () -> api(node, callTimeout).removeCatchUpSource(lcId, column));
    }

    void removeRebuildSource(Target node, long lcId) {
        run(
                "DELETE /v1/lcs/" + lcId + "/rebuildSource",
                () -> api(node, callTimeout).removeRebuildSource(lcId));
    }

    void flush(Target node, long lcId) {
        run("POST /v1/lcs/" + lcId + ":flush", () -> api(node, dataTimeout).flush(lcId));
    }

    void startFlatten(Target node, long lcId) {
        call("POST /v1/lcs/" + lcId + ":flatten", () -> api(node, callTimeout).startFlatten(lcId));
    }

    /** Stops the node's running flatten of the lc at its next PC; a node that has none is fine. */
    void cancelFlatten(Target node, long lcId) {
        call(
                "POST /v1/lcs/" + lcId + "/flatten:cancel",
                () -> api(node, callTimeout).cancelFlatten(lcId));
    }

    Job flattenJob(Target node, long lcId) {
        return call(
                "GET /v1/lcs/" + lcId + "/flatten", () -> api(node, callTimeout).flatten(lcId));
    }

    /** Starts a scrub of the whole node (one already running is the one answered). */
    Job startScrub(Target node) {
        return call("POST /v1/node:scrub", () -> api(node, callTimeout).startScrub());
    }

    Job scrubJob(Target node) {
        return call("GET /v1/node/scrub", () -> api(node, callTimeout).scrub());
    }

    /**
     * Has {@code node} replace the lc's {@code segments} with {@code source}'s own bytes, each only if
     * neither side changed it since the comparison; what it did.
     */
    RepairResult repair(Target node, long lcId, Target source, List<SegmentRepair> segments) {
        var request = new RepairRequest(new CopySource(source.httpEndpoint(), source.token(), lcId), segments);
        return call(
                "POST /v1/lcs/" + lcId + ":repair",
                () -> api(node, dataTimeout.multipliedBy(2)).repair(lcId, request));
    }

    /**
     * Raises the node's fence of column {@code column} of family {@code familyId} to {@code epoch}
     * (it never goes down); the fence the node holds now.
     */
    long fence(Target node, long familyId, int column, long epoch) {
        return call(
                        "PUT /v1/fences/" + familyId + "/" + column,
                        () -> api(node, callTimeout).fence(familyId, column, new FenceRequest(epoch)))
                .epoch();
    }

    /** Every fence the node holds. */
    List<FenceView> fences(Target node) {
        return call("GET /v1/fences", () -> api(node, dataTimeout).fences());
    }

    List<HeldLc> list(Target node) {
        return call("GET /v1/lcs", () -> api(node, dataTimeout).list()).stream()
                .map(lc -> new HeldLc(lc.lcId(), lc.parentLcId(), lc.frozen()))
                .toList();
    }

    private NodeApi api(Target node, Duration timeout) {
        return proxies.computeIfAbsent(new Route(node, timeout), route -> proxy(route.node(), route.timeout()));
    }

    private NodeApi proxy(Target node, Duration timeout) {
        var requests = new JdkClientHttpRequestFactory(http, bodies);
        requests.setReadTimeout(timeout);
        RestClient rest = RestClient.builder()
                // buffered: a body of known length goes with a Content-Length, as before, not chunked
                .requestFactory(new BufferingClientHttpRequestFactory(requests))
                .baseUrl(node.httpEndpoint())
                .defaultHeader(HttpHeaders.AUTHORIZATION, "Bearer " + node.token())
                // the defaults carry the byte[] bodies of the data calls; JSON as api-server writes it
                .configureMessageConverters(
                        converters -> converters.registerDefaults().withJsonConverter(json))
                .defaultStatusHandler(HttpStatusCode::isError, (request, response) -> fail(node, request, response))
                .build();
        return HttpServiceProxyFactory.builderFor(RestClientAdapter.create(rest))
                .build()
                .createClient(NodeApi.class);
    }

    private static void fail(Target node, HttpRequest request, ClientHttpResponse response) throws IOException {
        int status = response.getStatusCode().value();
        String call = request.getMethod() + " " + request.getURI().getPath();
        // 502: the node answered, but another node it read from (a copy's source) did not
        if (status >= 500 && status != 502) {
            throw new Unanswered(call + " answered " + status, null);
        }
        throw new Refused(
                status,
                "node " + node.nodeId() + " refused " + call + ": "
                        + new String(response.getBody().readAllBytes(), StandardCharsets.UTF_8));
    }

    /**
     * Makes the call; an I/O failure (refused, timed out, interrupted) is the node not answering.
     * The client reports one while sending as a {@link ResourceAccessException}, and one while
     * reading the answer (its timeout closes the body it reads) as whatever the reading failed with,
     * the I/O error as a cause.
     */
    private static <T> T call(String call, Supplier<T> request) {
        try {
            return request.get();
        } catch (RestClientException e) {
            IOException io = ioCause(e);
            if (io == null) {
                throw e;
            }
            throw new Unanswered(call + ": " + describe(io), e);
        }
    }

    private static @Nullable IOException ioCause(Throwable failure) {
        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
            if (cause instanceof IOException io) {
                return io;
            }
        }
        return null;
    }

    private static void run(String call, Runnable request) {
        call(call, () -> {
            request.run();
            return null;
        });
    }

    private static String describe(Throwable e) {
        return e.getMessage() == null
                ? e.getClass().getSimpleName()
                : e.getClass().getSimpleName() + " " + e.getMessage();
    }

    private static byte[] toArray(ByteBuffer bytes) {
        byte[] array = new byte[bytes.remaining()];
        bytes.duplicate().get(array);
        return array;
    }

    /** Where a call goes. */
    record Target(String nodeId, String httpEndpoint, String token) {}

    private record Route(Target node, Duration timeout) {}
}
