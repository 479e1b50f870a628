package dev.sprig.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.node.NodeTestDirs;
import dev.sprig.node.StorageNodeApplication;
import java.net.http.HttpResponse;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/** Every endpoint of the node API over real HTTP, with its errors. */
@SpringBootTest(
        classes = StorageNodeApplication.class,
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "spring.config.name=" + StorageNodeApplication.CONFIG_NAME,
            "sprig.node.nbd.port=0",
            "sprig.node.token=" + NodeApiIT.TOKEN,
            "sprig.node.metrics-token=" + NodeApiIT.METRICS_TOKEN,
            "sprig.node.max-body-size=8MB"
        })
class NodeApiIT {

    static final String TOKEN = "test-token-0123456789";
    static final String METRICS_TOKEN = "metrics-token-0123456789";
    static final long MIB = 1 << 20;
    static final AtomicLong IDS = new AtomicLong(1000);

    static java.nio.file.Path dataDir;

    @DynamicPropertySource
    static void dataDir(DynamicPropertyRegistry registry) {
        dataDir = NodeTestDirs.fresh("node-api");
        registry.add("sprig.node.data-dir", dataDir::toString);
    }

    @LocalServerPort
    int port;

    NodeClient node;

    @BeforeEach
    void client() {
        node = new NodeClient(port, TOKEN);
    }

    // ---------------------------------------------------------------- security

    @Test
    void healthIsOpenButEveryOtherEndpointNeedsTheToken() {
        long lc = rootLc(MIB);
        NodeClient anonymous = node.withToken("");
        NodeClient wrong = node.withToken("not-the-token");

        assertThat(anonymous.get("/actuator/health").statusCode()).isEqualTo(200);
        assertThat(anonymous.get("/actuator/health/readiness").statusCode()).isEqualTo(200);
        for (NodeClient client : new NodeClient[] {anonymous, wrong}) {
            assertUnauthorized(client.get("/v1/lcs/" + lc));
            assertUnauthorized(client.get("/v1/node"));
            assertUnauthorized(client.get("/actuator/prometheus"));
            assertUnauthorized(client.get("/v1/lcs/" + lc + "/data?offset=0&length=16"));
            assertUnauthorized(client.put("/v1/lcs/" + lc + "/data?offset=0", new byte[] {1, 2, 3}));
            assertUnauthorized(client.post("/v1/lcs:batchDefine", "{\"lcs\":[{\"lcId\":99999,\"sizeBytes\":4096}]}"));
            assertUnauthorized(client.post("/v1/lcs/" + lc + ":freeze"));
            assertUnauthorized(client.delete("/v1/lcs/" + lc));
            assertUnauthorized(client.post("/v1/node:scrub"));
            assertUnauthorized(client.get("/v1/fences"));
            assertUnauthorized(client.putJson("/v1/fences/1/0", "{\"epoch\":2}"));
        }

        assertThat(node.read(lc, 0, 3)).containsOnly(0);
        assertThat(node.get("/v1/lcs/99999").statusCode()).isEqualTo(404);
        assertThat(json(node.get("/v1/lcs/" + lc)).path("frozen").asBoolean()).isFalse();
    }

    // ---------------------------------------------------------------- control

    @Test
    void batchDefineIsIdempotentAndAConflictAppliesNothing() {
        long image = IDS.incrementAndGet();
        long clone1 = IDS.incrementAndGet();
        long clone2 = IDS.incrementAndGet();
        String batch = "[" + def(image, null, 8 * MIB, true) + "," + def(clone1, image, 8 * MIB, false) + ","
                + def(clone2, image, 16 * MIB, false) + "]";

        HttpResponse<String> first = node.post("/v1/lcs:batchDefine", "{\"lcs\":" + batch + "}");
        HttpResponse<String> again = node.post("/v1/lcs:batchDefine", "{\"lcs\":" + batch + "}");

        assertThat(first.statusCode()).isEqualTo(200);
        assertThat(json(first).path("created").asInt()).isEqualTo(3);
        assertThat(json(again).path("created").asInt()).isZero();
        assertThat(json(again).path("unchanged").asInt()).isEqualTo(3);

        long newcomer = IDS.incrementAndGet();
        HttpResponse<String> conflicting = node.post(
                "/v1/lcs:batchDefine",
                "{\"lcs\":[" + def(newcomer, image, 8 * MIB, false) + "," + def(clone1, image, 32 * MIB, false) + "]}");
        assertProblem(conflicting, 409, "DEFINITION_CONFLICT");
        assertThat(node.get("/v1/lcs/" + newcomer).statusCode())
                .as("nothing of a conflicting batch is applied")
                .isEqualTo(404);
    }

    @Test
    void theListOfLcsShowsEveryLcWithItsParentAndFrozenFlag() {
        long image = IDS.incrementAndGet();
        long clone = IDS.incrementAndGet();
        node.post(
                "/v1/lcs:batchDefine",
                "{\"lcs\":[" + def(image, null, 8 * MIB, true) + "," + def(clone, image, 8 * MIB, false) + "]}");

        JsonNode list = json(node.get("/v1/lcs"));

        java.util.List<String> entries = new java.util.ArrayList<>();
        list.forEach(lc -> entries.add(lc.path("lcId").asLong() + ":"
                + lc.path("parentLcId").asString("-") + ":" + lc.path("frozen").asBoolean()));
        assertThat(entries).contains(image + ":-:true", clone + ":" + image + ":false");
    }

    @Test
    void batchDefineRefusesAChildOfAWritableOrMissingParent() {
        long writable = rootLc(MIB);
        assertProblem(
                node.post(
                        "/v1/lcs:batchDefine", "{\"lcs\":[" + def(IDS.incrementAndGet(), writable, MIB, false) + "]}"),
                409,
                "DEFINITION_CONFLICT");
        assertProblem(
                node.post("/v1/lcs:batchDefine", "{\"lcs\":[" + def(IDS.incrementAndGet(), 987654L, MIB, false) + "]}"),
                409,
                "DEFINITION_CONFLICT");
    }

    @Test
    void sizesAbove64TiBAreRefusedWith400OnDefineAndGrow() {
        long root = rootLc(MIB);
        for (long size : new long[] {(1L << 46) + 4096, 1L << 60, Long.MAX_VALUE}) {
            HttpResponse<String> define = node.post(
                    "/v1/lcs:batchDefine", "{\"lcs\":[" + def(IDS.incrementAndGet(), null, size, false) + "]}");
            assertProblem(define, 400, "INVALID_ARGUMENT");
            assertThat(define.body()).contains("70368744177664");
            assertProblem(
                    node.post("/v1/lcs/" + root + ":grow", "{\"sizeBytes\": " + size + "}"), 400, "INVALID_ARGUMENT");
        }
        assertThat(node.post("/v1/lcs/" + root + ":grow", "{\"sizeBytes\": " + (1L << 46) + "}")
                        .statusCode())
                .isEqualTo(200);
    }

    @Test
    void batchDefineCarriesThousandsOfClonesInOneRequest() {
        long image = IDS.addAndGet(3000);
        var batch = new StringBuilder("[").append(def(image, null, 10 * 1024 * MIB, true));
        for (int i = 1; i <= 2500; i++) {
            batch.append(',').append(def(image + i, image, 10 * 1024 * MIB, false));
        }
        IDS.addAndGet(2600);

        HttpResponse<String> response = node.post("/v1/lcs:batchDefine", "{\"lcs\":" + batch + "]}");

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(json(response).path("created").asInt()).isEqualTo(2501);
        assertThat(json(node.get("/v1/lcs/" + image)).path("children").asInt()).isEqualTo(2500);
    }

    @Test
    void malformedOrInvalidRequestsGetProblemsNeverA500() {
        assertProblem(node.post("/v1/lcs:batchDefine", "{\"lcs\": [ {"), 400, "INVALID_ARGUMENT");
        assertProblem(node.post("/v1/lcs:batchDefine", "{\"lcs\": []}"), 400, "INVALID_ARGUMENT");
        assertProblem(node.post("/v1/lcs:batchDefine", "{\"lcs\": [{\"lcId\": 5}]}"), 400, "INVALID_ARGUMENT");
        assertProblem(
                node.post("/v1/lcs:batchDefine", "{\"lcs\": [{\"lcId\": 5, \"sizeBytes\": -1}]}"),
                400,
                "INVALID_ARGUMENT");
        assertProblem(node.get("/v1/lcs/not-a-number"), 400, "INVALID_ARGUMENT");
        assertProblem(node.get("/v1/lcs/424242"), 404, "UNKNOWN_LC");
        assertProblem(node.post("/v1/lcs/424242:freeze"), 404, "UNKNOWN_LC");
        assertProblem(
                node.post("/v1/lcs/" + rootLc(MIB) + ":grow", "{\"sizeBytes\": \"big\"}"), 400, "INVALID_ARGUMENT");
    }

    @Test
    void freezeGrowAndDeleteFollowTheLineageRules() {
        long image = rootLc(4 * MIB);
        node.write(image, 0, filled(4096, 7));
        assertThat(json(node.post("/v1/lcs/" + image + ":freeze"))
                        .path("frozen")
                        .asBoolean())
                .isTrue();
        assertProblem(node.put("/v1/lcs/" + image + "/data?offset=0", filled(16, 1)), 409, "LC_FROZEN");

        long clone = IDS.incrementAndGet();
        node.define("[" + def(clone, image, 4 * MIB, false) + "]");
        assertProblem(node.delete("/v1/lcs/" + image), 409, "LC_HAS_CHILDREN");
        assertThat(node.read(image, 0, 4096)).isEqualTo(filled(4096, 7));

        HttpResponse<String> grown = node.post("/v1/lcs/" + clone + ":grow", "{\"sizeBytes\": " + 12 * MIB + "}");
        assertThat(json(grown).path("sizeBytes").asLong()).isEqualTo(12 * MIB);
        assertThat(node.read(clone, 12 * MIB - 4096, 4096)).containsOnly(0);

        assertThat(node.delete("/v1/lcs/" + clone).statusCode()).isEqualTo(204);
        assertThat(node.delete("/v1/lcs/" + clone).statusCode())
                .as("deleting what is gone")
                .isEqualTo(204);
        assertThat(node.delete("/v1/lcs/" + image).statusCode()).isEqualTo(204);
        assertThat(node.get("/v1/lcs/" + image).statusCode()).isEqualTo(404);
    }

    @Test
    void flattenRunsInTheBackgroundAndLeavesTheCloneWithoutParent() throws Exception {
        long image = rootLc(8 * MIB);
        byte[] content = random(8 * (int) MIB, 3);
        node.write(image, 0, content);
        node.post("/v1/lcs/" + image + ":freeze");
        long clone = IDS.incrementAndGet();
        node.define("[" + def(clone, image, 8 * MIB, false) + "]");
        node.write(clone, 100, filled(10, 9));

        HttpResponse<String> started = node.post("/v1/lcs/" + clone + ":flatten");
        assertThat(started.statusCode()).isEqualTo(202);
        assertThat(started.headers().firstValue("Location")).hasValue("/v1/lcs/" + clone + "/flatten");
        JsonNode job = awaitJob("/v1/lcs/" + clone + "/flatten");

        assertThat(job.path("state").asString()).isEqualTo("SUCCEEDED");
        assertThat(job.path("done").asLong())
                .isEqualTo(job.path("total").asLong())
                .isEqualTo(2);
        assertThat(json(node.get("/v1/lcs/" + clone)).path("parentLcId").isNull())
                .isTrue();
        byte[] expected = content.clone();
        Arrays.fill(expected, 100, 110, (byte) 9);
        assertThat(node.read(clone, 0, 8 * (int) MIB)).isEqualTo(expected);
        assertProblem(node.get("/v1/lcs/" + image + "/flatten"), 404, "NOT_FOUND");
        assertProblem(node.post("/v1/lcs/" + image + "/flatten:cancel"), 404, "NOT_FOUND");
        HttpResponse<String> lateCancel = node.post("/v1/lcs/" + clone + "/flatten:cancel");
        assertThat(lateCancel.statusCode()).as(lateCancel.body()).isEqualTo(200);
        assertThat(json(lateCancel).path("state").asString())
                .as("a flatten that has ended stays as it ended")
                .isEqualTo("SUCCEEDED");
    }

    // ---------------------------------------------------------------- data

    @Test
    void allocationListsOnlyThePcsTheLcOrItsAncestorsHoldDataIn() {
        long size = 64L << 40; // the largest lc: 16M PCs, of which five are written
        long pc = 4 * MIB;
        long farPc = 1_000_000; // far out, yet within the sparse file size every file system allows
        long image = rootLc(size);
        node.write(image, 0, filled(4096, 1));
        node.write(image, 5 * pc + pc - 2048, filled(4096, 2)); // crosses into PC 6
        node.write(image, farPc * pc, filled(4096, 3));
        node.post("/v1/lcs/" + image + ":freeze");
        long clone = IDS.incrementAndGet();
        node.define("[" + def(clone, image, size, false) + "]");
        node.write(clone, 100 * pc, filled(4096, 4));

        JsonNode ofClone = json(node.get("/v1/lcs/" + clone + "/allocation"));
        JsonNode ofImage = json(node.get("/v1/lcs/" + image + "/allocation"));

        assertThat(ofClone.path("pcSizeBytes").asLong()).isEqualTo(pc);
        assertThat(runs(ofClone)).containsExactly("0+1", "5+2", "100+1", farPc + "+1");
        assertThat(runs(ofImage))
                .as("a clone's writes are not its image's")
                .containsExactly("0+1", "5+2", farPc + "+1");
        assertProblem(node.get("/v1/lcs/99999/allocation"), 404, "UNKNOWN_LC");
        assertUnauthorized(node.withToken("not-the-token").get("/v1/lcs/" + clone + "/allocation"));
    }

    static java.util.List<String> runs(JsonNode allocation) {
        java.util.List<String> runs = new java.util.ArrayList<>();
        allocation
                .path("pcRuns")
                .forEach(run -> runs.add(
                        run.path("firstPc").asLong() + "+" + run.path("pcCount").asLong()));
        return runs;
    }

    @Test
    void aCloneReadsItsImageUntilItWritesAndThenOnlyItsOwnBytes() {
        long image = rootLc(8 * MIB);
        byte[] base = random(8 * (int) MIB, 11);
        node.write(image, 0, base);
        node.post("/v1/lcs/" + image + ":freeze");
        long clone = IDS.incrementAndGet();
        node.define("[" + def(clone, image, 8 * MIB, false) + "]");

        assertThat(node.read(clone, 0, 8 * (int) MIB)).isEqualTo(base);
        byte[] patch = filled(5000, 42);
        long at = 4 * MIB - 2500; // crosses a PC boundary
        node.write(clone, at, patch);

        byte[] expected = base.clone();
        System.arraycopy(patch, 0, expected, (int) at, patch.length);
        assertThat(node.read(clone, 0, 8 * (int) MIB)).isEqualTo(expected);
        assertThat(node.read(image, 0, 8 * (int) MIB))
                .as("the image never changes")
                .isEqualTo(base);
        assertThat(json(node.get("/v1/lcs/" + clone)).path("segmentsOwned").asLong())
                .isEqualTo(2);
    }

    @Test
    void copyFromReadsARangeFromAnotherNodeAndStoresOnlyItsNonZeroSegments() {
        long source = rootLc(8 * MIB);
        byte[] data = random((int) MIB, 21);
        node.write(source, MIB, data); // segments 4..7 of PC 0; everything else zeros
        node.write(source, 5 * MIB, data); // segments 4..7 of PC 1
        long copy = rootLc(8 * MIB);

        HttpResponse<String> first = node.post("/v1/lcs/" + copy + ":copyFrom", copyFrom(source, TOKEN, 0, 4 * MIB));
        HttpResponse<String> second =
                node.post("/v1/lcs/" + copy + ":copyFrom", copyFrom(source, TOKEN, 4 * MIB, 4 * MIB));

        assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
        assertThat(json(first).path("bytesStored").asLong()).isEqualTo(MIB);
        assertThat(json(second).path("bytesStored").asLong()).isEqualTo(MIB);
        assertThat(node.read(copy, 0, 8 * (int) MIB)).isEqualTo(node.read(source, 0, 8 * (int) MIB));
        assertThat(json(node.get("/v1/lcs/" + copy)).path("segmentsOwned").asLong())
                .isEqualTo(8);
    }

    @Test
    void copyFromASourceThatCannotBeReadIsABadGatewayAndWritesNothing() {
        long source = rootLc(4 * MIB);
        node.write(source, 0, random((int) MIB, 22));
        long copy = rootLc(4 * MIB);

        HttpResponse<String> wrongToken =
                node.post("/v1/lcs/" + copy + ":copyFrom", copyFrom(source, "not-the-token", 0, MIB));
        HttpResponse<String> noSuchLc = node.post("/v1/lcs/" + copy + ":copyFrom", copyFrom(987654, TOKEN, 0, MIB));
        HttpResponse<String> unreachable = node.post(
                "/v1/lcs/" + copy + ":copyFrom",
                "{\"source\":{\"endpoint\":\"http://127.0.0.1:1\",\"token\":\"t\",\"lcId\":" + source
                        + "},\"offset\":0,\"length\":" + MIB + "}");

        assertProblem(wrongToken, 502, "SOURCE_UNREADABLE");
        assertThat(json(wrongToken).path("detail").asString()).endsWith("it answered 401");
        assertProblem(noSuchLc, 502, "SOURCE_UNREADABLE");
        assertProblem(unreachable, 502, "SOURCE_UNREADABLE");
        assertProblem(
                node.post("/v1/lcs/" + copy + ":copyFrom", copyFrom(source, TOKEN, 4096, MIB)),
                400,
                "INVALID_ARGUMENT");
        assertProblem(
                node.post("/v1/lcs/" + copy + ":copyFrom", copyFrom(source, TOKEN, 0, 8 * MIB)), 416, "OUT_OF_RANGE");
        assertProblem(
                node.post(
                        "/v1/lcs/" + copy + ":copyFrom",
                        "{\"source\":{\"endpoint\":\"file:///etc\",\"token\":\"t\",\"lcId\":1},\"offset\":0,\"length\":4096}"),
                400,
                "INVALID_ARGUMENT");
        assertThat(json(node.get("/v1/lcs/" + copy)).path("segmentsOwned").asLong())
                .isZero();
    }

    @Test
    void copyFromOverOlderBytesLeavesTheLcReadingAsItsSource() {
        long source = rootLc(4 * MIB);
        node.write(source, 0, random((int) MIB, 23)); // segments 0..3; the rest zeros
        long copy = rootLc(4 * MIB);
        node.write(copy, 0, filled(4 * (int) MIB, 9)); // older bytes everywhere

        HttpResponse<String> copied = node.post("/v1/lcs/" + copy + ":copyFrom", copyFrom(source, TOKEN, 0, 4 * MIB));

        assertThat(json(copied).path("bytesStored").asLong()).isEqualTo(MIB);
        assertThat(node.read(copy, 0, 4 * (int) MIB)).isEqualTo(node.read(source, 0, 4 * (int) MIB));
    }

    @Test
    void copyFromFollowsNoRedirectAndRepeatsNothingASourceAnswered() throws Exception {
        long copy = rootLc(4 * MIB);
        var elsewhere = new java.util.concurrent.atomic.AtomicInteger();
        com.sun.net.httpserver.HttpServer internal =
                com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        internal.createContext("/", exchange -> {
            elsewhere.incrementAndGet();
            exchange.sendResponseHeaders(200, 4);
            exchange.getResponseBody().write(new byte[] {1, 2, 3, 4});
            exchange.close();
        });
        com.sun.net.httpserver.HttpServer source =
                com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        source.createContext("/", exchange -> {
            byte[] body = "internal-secret-page".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            exchange.getResponseHeaders()
                    .add("Location", "http://127.0.0.1:" + internal.getAddress().getPort() + "/v1/lcs/1/data");
            exchange.sendResponseHeaders(307, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        internal.start();
        source.start();
        try {
            HttpResponse<String> redirected = node.post(
                    "/v1/lcs/" + copy + ":copyFrom",
                    "{\"source\":{\"endpoint\":\"http://127.0.0.1:"
                            + source.getAddress().getPort() + "\",\"token\":\"t\",\"lcId\":1},\"offset\":0,\"length\":"
                            + MIB + "}");

            assertProblem(redirected, 502, "SOURCE_UNREADABLE");
            assertThat(json(redirected).path("detail").asString())
                    .endsWith("it answered 307")
                    .doesNotContain("internal-secret-page");
            assertThat(elsewhere.get())
                    .as("requests that reached the redirect's target")
                    .isZero();
        } finally {
            source.stop(0);
            internal.stop(0);
        }
    }

    @Test
    void aSourceThatBreaksOffMidBodyIsABadGatewayNotAFailureOfThisNode() throws Exception {
        long copy = rootLc(4 * MIB);
        com.sun.net.httpserver.HttpServer source =
                com.sun.net.httpserver.HttpServer.create(new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        source.createContext("/", exchange -> {
            exchange.sendResponseHeaders(200, 4 * MIB);
            exchange.getResponseBody().write(random((int) MIB, 24));
            exchange.getResponseBody().flush();
            exchange.close(); // three MiB short
        });
        source.start();
        try {
            HttpResponse<String> cut = node.post(
                    "/v1/lcs/" + copy + ":copyFrom",
                    "{\"source\":{\"endpoint\":\"http://127.0.0.1:"
                            + source.getAddress().getPort() + "\",\"token\":\"t\",\"lcId\":1},\"offset\":0,\"length\":"
                            + 4 * MIB + "}");

            assertProblem(cut, 502, "SOURCE_UNREADABLE");
        } finally {
            source.stop(0);
        }
    }

    private String copyFrom(long sourceLc, String token, long offset, long length) {
        return "{\"source\":{\"endpoint\":\"http://127.0.0.1:" + port + "\",\"token\":\"" + token + "\",\"lcId\":"
                + sourceLc + "},\"offset\":" + offset + ",\"length\":" + length + "}";
    }

    @Test
    void rangesOutsideTheLcAreRefusedAndWriteNothing() {
        long lc = rootLc(MIB);
        assertProblem(node.put("/v1/lcs/" + lc + "/data?offset=" + (MIB - 2), filled(4, 5)), 416, "OUT_OF_RANGE");
        assertProblem(node.put("/v1/lcs/" + lc + "/data?offset=-1", filled(4, 5)), 416, "OUT_OF_RANGE");
        HttpResponse<String> pastEnd = node.get("/v1/lcs/" + lc + "/data?offset=" + MIB + "&length=1");
        assertProblem(pastEnd, 416, "OUT_OF_RANGE");
        assertThat(pastEnd.headers().firstValue("Content-Range")).hasValue("bytes */" + MIB);
        assertProblem(node.get("/v1/lcs/" + lc + "/data?offset=0&length=" + Long.MAX_VALUE), 413, "PAYLOAD_TOO_LARGE");
        assertProblem(node.get("/v1/lcs/" + lc + "/data?offset=" + Long.MAX_VALUE + "&length=2"), 416, "OUT_OF_RANGE");
        assertProblem(node.get("/v1/lcs/" + lc + "/data?offset=0"), 400, "INVALID_ARGUMENT");
        assertProblem(node.post("/v1/lcs/" + lc + ":writeZeroes?offset=0&length=" + (2 * MIB)), 416, "OUT_OF_RANGE");

        assertThat(node.read(lc, MIB - 2, 2)).containsOnly(0);
        assertThat(json(node.get("/v1/lcs/" + lc)).path("segmentsOwned").asLong())
                .isZero();
    }

    @Test
    void bodiesAboveTheLimitOrWithoutLengthAreRefused() throws Exception {
        long lc = rootLc(16 * MIB);
        assertProblem(node.put("/v1/lcs/" + lc + "/data?offset=0", new byte[9 * (int) MIB]), 413, "PAYLOAD_TOO_LARGE");
        assertThat(chunkedWriteStatusLine(lc)).startsWith("HTTP/1.1 411");
        assertProblem(node.post("/v1/lcs/" + lc + "/data?offset=0", "{}"), 405, "METHOD_NOT_ALLOWED");
        assertThat(json(node.get("/v1/lcs/" + lc)).path("segmentsOwned").asLong())
                .isZero();
    }

    @Test
    void writeZeroesAndTrimReadBackAsZerosWithoutStoringBytes() {
        long image = rootLc(4 * MIB);
        node.write(image, 0, random(4 * (int) MIB, 5));
        node.post("/v1/lcs/" + image + ":freeze");
        long clone = IDS.incrementAndGet();
        node.define("[" + def(clone, image, 4 * MIB, false) + "]");

        assertThat(node.post("/v1/lcs/" + clone + ":writeZeroes?offset=0&length=" + MIB)
                        .statusCode())
                .isEqualTo(204);
        assertThat(node.post("/v1/lcs/" + clone + ":trim?offset=" + MIB + "&length=" + MIB)
                        .statusCode())
                .isEqualTo(204);

        assertThat(node.read(clone, 0, 2 * (int) MIB)).containsOnly(0);
        JsonNode stats = json(node.get("/v1/lcs/" + clone));
        assertThat(stats.path("zeroSegments").asLong()).isEqualTo(8);
        assertThat(stats.path("bytesStored").asLong()).isZero();
    }

    @Test
    void flushScrubAndNodeStatsAnswer() throws Exception {
        long lc = rootLc(4 * MIB);
        node.write(lc, 0, random(300_000, 8));
        assertThat(node.post("/v1/lcs/" + lc + ":flush").statusCode()).isEqualTo(204);
        assertThat(node.post("/v1/node:flush").statusCode()).isEqualTo(204);

        JsonNode stats = json(node.get("/v1/node"));
        assertThat(stats.path("lcCount").asLong()).isPositive();
        assertThat(stats.path("usedBytes").asLong()).isGreaterThanOrEqualTo(2 * 256 * 1024);
        assertThat(stats.path("capacityBytes").asLong())
                .isGreaterThan(stats.path("freeBytes").asLong());

        assertThat(node.post("/v1/node:scrub").statusCode()).isEqualTo(202);
        JsonNode scrub = awaitJob("/v1/node/scrub");
        assertThat(scrub.path("state").asString()).isEqualTo("SUCCEEDED");
        assertThat(scrub.path("damaged").size()).isZero();
        assertThat(scrub.path("done").asLong()).isPositive();
    }

    @Test
    void corruptStoredBytesAreReportedAsCorruptionNeverReturned() throws Exception {
        long lc = rootLc(MIB);
        node.write(lc, 0, filled(8192, 3));
        node.post("/v1/lcs/" + lc + ":flush");
        try (var file = java.nio.channels.FileChannel.open(
                dataDir.resolve("lc-" + lc + ".data"), java.nio.file.StandardOpenOption.WRITE)) {
            file.write(java.nio.ByteBuffer.wrap(new byte[] {(byte) 0xEE}), 5000);
        }

        HttpResponse<String> read = node.get("/v1/lcs/" + lc + "/data?offset=0&length=8192");

        assertProblem(read, 500, "CORRUPTION");
        assertThat(node.get("/actuator/prometheus").body())
                .containsPattern("sprig_node_corruption_detected_total [1-9]");
        assertThat(node.get("/v1/lcs/" + lc + "/data?offset=0&length=4096").statusCode())
                .as("the undamaged block still reads")
                .isEqualTo(200);
        node.write(lc, 4096, filled(4096, 4));
        assertThat(node.read(lc, 0, 8192))
                .as("rewriting the damaged block heals it")
                .startsWith(filled(4096, 3))
                .endsWith(filled(4096, 4));
    }

    @Test
    void prometheusExportsDataPathMetrics() {
        long lc = rootLc(MIB);
        node.write(lc, 0, filled(4096, 1));
        node.read(lc, 0, 4096);
        node.post("/v1/lcs/" + lc + ":flush");

        String metrics = node.get("/actuator/prometheus").body();
        assertThat(metrics)
                .contains("sprig_node_bytes_total{direction=\"write\"")
                .contains("sprig_node_bytes_total{direction=\"read\"")
                .contains("sprig_node_io_seconds_bucket{op=\"write\"")
                .contains("sprig_node_corruption_detected_total")
                .contains("sprig_node_fenced_requests_total")
                .containsPattern("sprig_node_redirects_total(\\{[^}]*\\})? [1-9]")
                .containsPattern("sprig_node_flushes_total(\\{[^}]*\\})? [1-9]");
    }

    @Test
    void theMetricsTokenOpensPrometheusAndNothingElse() {
        long lc = rootLc(MIB);
        NodeClient prometheus = node.withToken(METRICS_TOKEN);

        HttpResponse<String> scraped = prometheus.get("/actuator/prometheus");
        assertThat(scraped.statusCode()).isEqualTo(200);
        assertThat(scraped.body()).contains("sprig_node_engine_read_only 0.0");
        assertUnauthorized(prometheus.get("/actuator/prometheus/"));
        assertUnauthorized(prometheus.get("/v1/node"));
        assertUnauthorized(prometheus.get("/v1/lcs/" + lc + "/data?offset=0&length=16"));
        assertUnauthorized(prometheus.put("/v1/lcs/" + lc + "/data?offset=0", new byte[] {1, 2, 3}));
        assertUnauthorized(prometheus.get("/v1/fences"));
        assertThat(node.read(lc, 0, 3)).containsOnly(0);
    }

    // ---------------------------------------------------------------- fences

    @Test
    void aFenceRisesDurablyAndNeverGoesDown() {
        long family = IDS.incrementAndGet();
        String path = "/v1/fences/" + family + "/1";

        HttpResponse<String> raised = node.putJson(path, "{\"epoch\":3}");
        assertThat(raised.statusCode()).as(raised.body()).isEqualTo(200);
        assertThat(json(raised).path("familyId").asLong()).isEqualTo(family);
        assertThat(json(raised).path("column").asInt()).isEqualTo(1);
        assertThat(json(raised).path("epoch").asLong()).isEqualTo(3);
        assertThat(dataDir.resolve("fences")).content().contains(family + " 1 3\n");

        HttpResponse<String> lower = node.putJson(path, "{\"epoch\":2}");
        assertThat(lower.statusCode()).isEqualTo(200);
        assertThat(json(lower).path("epoch").asLong()).as("the fence as it is").isEqualTo(3);
        node.putJson("/v1/fences/" + family + "/0", "{\"epoch\":1}");

        JsonNode fences = json(node.get("/v1/fences"));
        assertThat(fences.valueStream()
                        .filter(fence -> fence.path("familyId").asLong() == family)
                        .map(fence -> fence.path("column").asInt() + ":"
                                + fence.path("epoch").asLong()))
                .containsExactly("0:1", "1:3");
    }

    @Test
    void malformedFenceRequestsGetProblemsAndChangeNothing() {
        long family = IDS.incrementAndGet();
        for (String body : new String[] {"{\"epoch\":0}", "{\"epoch\":-1}", "{}", "{\"epoch\":\"x\"}", "{\"epoch\":"}) {
            assertProblem(node.putJson("/v1/fences/" + family + "/0", body), 400, "INVALID_ARGUMENT");
        }
        for (String path : new String[] {
            "/v1/fences/0/0",
            "/v1/fences/-3/0",
            "/v1/fences/x/0",
            "/v1/fences/" + family + "/-1",
            "/v1/fences/" + family + "/65535",
            "/v1/fences/" + family + "/99999999999"
        }) {
            assertProblem(node.putJson(path, "{\"epoch\":2}"), 400, "INVALID_ARGUMENT");
        }

        assertThat(node.get("/v1/fences").body()).doesNotContain("\"familyId\":" + family + ",");
    }

    // ---------------------------------------------------------------- helpers

    /** A body of unknown length, sent by hand because HTTP clients rarely let one choose chunking. */
    String chunkedWriteStatusLine(long lc) throws java.io.IOException {
        try (var socket = new java.net.Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            String request = "PUT /v1/lcs/" + lc + "/data?offset=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Authorization: Bearer " + TOKEN + "\r\nContent-Type: application/octet-stream\r\n"
                    + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
            socket.getOutputStream().write(request.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            return new java.io.BufferedReader(new java.io.InputStreamReader(
                            socket.getInputStream(), java.nio.charset.StandardCharsets.US_ASCII))
                    .readLine();
        }
    }

    long rootLc(long size) {
        long lc = IDS.incrementAndGet();
        node.define("[" + def(lc, null, size, false) + "]");
        return lc;
    }

    static String def(long lc, Long parent, long size, boolean frozen) {
        return "{\"lcId\":" + lc + (parent == null ? "" : ",\"parentLcId\":" + parent) + ",\"sizeBytes\":" + size
                + ",\"frozen\":" + frozen + "}";
    }

    JsonNode awaitJob(String path) throws InterruptedException {
        for (int i = 0; i < 600; i++) {
            JsonNode job = json(node.get(path));
            if (!job.path("state").asString().equals("RUNNING")) {
                return job;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("job at " + path + " did not finish");
    }

    static JsonNode json(HttpResponse<String> response) {
        return NodeClient.json(response);
    }

    static void assertProblem(HttpResponse<String> response, int status, String code) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        assertThat(response.headers().firstValue("Content-Type"))
                .hasValueSatisfying(type -> assertThat(type).startsWith("application/problem+json"));
        assertThat(json(response).path("code").asString()).isEqualTo(code);
    }

    static void assertUnauthorized(HttpResponse<String> response) {
        assertProblem(response, 401, "UNAUTHENTICATED");
        assertThat(response.headers().firstValue("WWW-Authenticate"))
                .hasValueSatisfying(h -> assertThat(h).startsWith("Bearer"));
    }

    static byte[] filled(int length, int value) {
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, (byte) value);
        return bytes;
    }

    static byte[] random(int length, long seed) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }
}
