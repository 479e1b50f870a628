package dev.sprig.api.backend.remote;

import dev.sprig.api.backend.StorageBackend.HeldLc;
import dev.sprig.api.backend.StorageBackend.LcSpec;
import dev.sprig.api.backend.StorageBackend.PcRun;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The storage-node HTTP API as api-server calls it: one method per call, each with a timeout. A
 * call that does not get an answer (refused, timed out, 5xx) throws {@link Unanswered}, which may be
 * retried; a 4xx is the node refusing the call and throws {@link Refused}, which may not.
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

    /** A flatten job's progress on one node. */
    record FlattenJob(
            String state, long done, long total, @Nullable String error) {}

    private final HttpClient http;
    private final JsonMapper json;
    private final Duration callTimeout;
    private final Duration dataTimeout;

    NodeClient(HttpClient http, JsonMapper json, Duration callTimeout, Duration dataTimeout) {
        this.http = http;
        this.json = json;
        this.callTimeout = callTimeout;
        this.dataTimeout = dataTimeout;
    }

    void define(Target node, List<LcSpec> lcs) {
        List<Map<String, Object>> body = new ArrayList<>();
        for (LcSpec lc : lcs) {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("lcId", lc.lcId());
            entry.put("parentLcId", lc.parentLcId());
            entry.put("sizeBytes", lc.sizeBytes());
            entry.put("frozen", lc.frozen());
            body.add(entry);
        }
        // a bulk clone is one request; allow for its size on top of the control-call budget
        Duration timeout = callTimeout.plusMillis(lcs.size() / 10L);
        send(node, post(node, "/v1/lcs:batchDefine", json.writeValueAsBytes(Map.of("lcs", body)), timeout));
    }

    /** A freeze flushes the lc's unflushed writes on the node first: it gets the data timeout. */
    void freeze(Target node, long lcId) {
        send(node, post(node, "/v1/lcs/" + lcId + ":freeze", new byte[0], dataTimeout));
    }

    void delete(Target node, long lcId) {
        HttpRequest request =
                base(node, "/v1/lcs/" + lcId, callTimeout).DELETE().build();
        send(node, request);
    }

    void write(Target node, long lcId, long offset, ByteBuffer bytes) {
        HttpRequest request = base(node, "/v1/lcs/" + lcId + "/data?offset=" + offset, dataTimeout)
                .header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(toArray(bytes)))
                .build();
        send(node, request);
    }

    byte[] read(Target node, long lcId, long offset, int length) {
        HttpRequest request = base(
                        node, "/v1/lcs/" + lcId + "/data?offset=" + offset + "&length=" + length, dataTimeout)
                .GET()
                .build();
        return sendForBytes(node, request);
    }

    /**
     * Has {@code node} copy a range of lc {@code sourceLcId} from {@code source} into its lc
     * {@code lcId}, node to node; the bytes it stored.
     */
    long copyFrom(Target node, long lcId, Target source, long sourceLcId, long offset, long length) {
        Map<String, Object> body = Map.of(
                "source",
                Map.of("endpoint", source.httpEndpoint(), "token", source.token(), "lcId", sourceLcId),
                "offset",
                offset,
                "length",
                length);
        JsonNode result = json.readTree(
                send(node, post(node, "/v1/lcs/" + lcId + ":copyFrom", json.writeValueAsBytes(body), dataTimeout)));
        return result.path("bytesStored").asLong();
    }

    /** The runs of PCs the node holds anything in for the lc (itself or its ancestors). */
    List<PcRun> allocation(Target node, long lcId) {
        JsonNode answer = json.readTree(send(
                node,
                base(node, "/v1/lcs/" + lcId + "/allocation", dataTimeout).GET().build()));
        List<PcRun> runs = new ArrayList<>();
        answer.path("pcRuns")
                .forEach(run -> runs.add(new PcRun(
                        run.path("firstPc").asLong(), run.path("pcCount").asLong())));
        return runs;
    }

    void flush(Target node, long lcId) {
        send(node, post(node, "/v1/lcs/" + lcId + ":flush", new byte[0], dataTimeout));
    }

    void startFlatten(Target node, long lcId) {
        send(node, post(node, "/v1/lcs/" + lcId + ":flatten", new byte[0], callTimeout));
    }

    /** Stops the node's running flatten of the lc at its next PC; a node that has none is fine. */
    void cancelFlatten(Target node, long lcId) {
        send(node, post(node, "/v1/lcs/" + lcId + "/flatten:cancel", new byte[0], callTimeout));
    }

    FlattenJob flattenJob(Target node, long lcId) {
        JsonNode job = json.readTree(send(
                node,
                base(node, "/v1/lcs/" + lcId + "/flatten", callTimeout).GET().build()));
        return new FlattenJob(
                job.path("state").asString(),
                job.path("done").asLong(),
                job.path("total").asLong(),
                job.path("error").isNull() ? null : job.path("error").asString());
    }

    List<HeldLc> list(Target node) {
        JsonNode lcs = json.readTree(
                send(node, base(node, "/v1/lcs", dataTimeout).GET().build()));
        List<HeldLc> held = new ArrayList<>();
        lcs.forEach(lc -> held.add(new HeldLc(
                lc.path("lcId").asLong(),
                lc.path("parentLcId").isNull() ? null : lc.path("parentLcId").asLong(),
                lc.path("frozen").asBoolean())));
        return held;
    }

    private HttpRequest post(Target node, String path, byte[] body, Duration timeout) {
        return base(node, path, timeout)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .build();
    }

    private static HttpRequest.Builder base(Target node, String path, Duration timeout) {
        return HttpRequest.newBuilder(URI.create(node.httpEndpoint() + path))
                .timeout(timeout)
                .header("Authorization", "Bearer " + node.token());
    }

    private String send(Target node, HttpRequest request) {
        return new String(sendForBytes(node, request), java.nio.charset.StandardCharsets.UTF_8);
    }

    private byte[] sendForBytes(Target node, HttpRequest request) {
        HttpResponse<byte[]> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new Unanswered(request.method() + " " + request.uri().getPath() + ": " + describe(e), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unanswered("interrupted", e);
        }
        int status = response.statusCode();
        // 502: the node answered, but another node it read from (a copy's source) did not
        if (status >= 500 && status != 502) {
            throw new Unanswered(request.method() + " " + request.uri().getPath() + " answered " + status, null);
        }
        if (status >= 400) {
            throw new Refused(
                    status,
                    "node " + node.nodeId() + " refused " + request.method() + " "
                            + request.uri().getPath() + ": "
                            + new String(response.body(), java.nio.charset.StandardCharsets.UTF_8));
        }
        return response.body();
    }

    private static String describe(IOException e) {
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
}
