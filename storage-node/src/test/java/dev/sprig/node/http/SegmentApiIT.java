package dev.sprig.node.http;

import static dev.sprig.node.http.NodeApiIT.assertProblem;
import static dev.sprig.node.http.NodeApiIT.assertUnauthorized;
import static dev.sprig.node.http.NodeApiIT.def;
import static dev.sprig.node.http.NodeApiIT.random;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.node.NodeTestDirs;
import dev.sprig.node.StorageNodeApplication;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * The own-segment endpoints over real HTTP: what an lc holds itself, the bytes of a segment it holds
 * and filling a segment it does not hold, which never overwrites a client write.
 */
@SpringBootTest(
        classes = StorageNodeApplication.class,
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "spring.config.name=" + StorageNodeApplication.CONFIG_NAME,
            "sprig.node.nbd.port=0",
            "sprig.node.token=" + SegmentApiIT.TOKEN
        })
class SegmentApiIT {

    static final String TOKEN = "segment-token-0123456789";
    static final int SEG = 256 * 1024;
    static final long PC = 4L << 20;
    static final AtomicLong IDS = new AtomicLong(5000);

    static final java.nio.file.Path DATA_DIR = NodeTestDirs.fresh("segment-api");

    @DynamicPropertySource
    static void dataDir(DynamicPropertyRegistry registry) {
        registry.add("sprig.node.data-dir", DATA_DIR::toString);
    }

    @LocalServerPort
    int port;

    NodeClient node;

    @BeforeEach
    void client() {
        node = new NodeClient(port, TOKEN);
    }

    /** A frozen image of 4 PCs holding {@code image} in PC 0 segment 0, and its writable clone. */
    long[] imageAndClone(byte[] image) {
        long root = IDS.incrementAndGet();
        long clone = IDS.incrementAndGet();
        node.define("[" + def(root, null, 4 * PC, false) + "]");
        node.write(root, 0, image);
        assertThat(node.post("/v1/lcs/" + root + ":freeze").statusCode()).isEqualTo(200);
        node.define("[" + def(clone, root, 4 * PC, false) + "]");
        return new long[] {root, clone};
    }

    static List<Integer> crcs(byte[] segment) {
        List<Integer> crcs = new ArrayList<>();
        for (int b = 0; b < SEG; b += 4096) {
            CRC32C crc = new CRC32C();
            crc.update(segment, b, 4096);
            crcs.add((int) crc.getValue());
        }
        return crcs;
    }

    static List<Integer> ints(JsonNode array) {
        List<Integer> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asInt()));
        return out;
    }

    HttpResponse<String> fill(long lc, String address, byte[] body) {
        return node.put("/v1/lcs/" + lc + "/segments/" + address, body);
    }

    @Test
    void theListingShowsOnlyWhatTheLcHoldsItselfWithItsBlockCrcs() {
        byte[] image = random(SEG, 1);
        long[] lcs = imageAndClone(image);
        byte[] written = random(SEG, 2);
        node.write(lcs[1], 2 * PC + 3L * SEG, written);
        assertThat(node.post("/v1/lcs/" + lcs[1] + ":writeZeroes?offset=0&length=" + SEG)
                        .statusCode())
                .isEqualTo(204);

        JsonNode clone = NodeClient.json(node.get("/v1/lcs/" + lcs[1] + "/segments?firstPc=0&pcCount=100"));
        JsonNode root = NodeClient.json(node.get("/v1/lcs/" + lcs[0] + "/segments?firstPc=0&pcCount=4"));

        assertThat(clone.path("pcCount").asLong()).as("cut at the lc's end").isEqualTo(4);
        JsonNode pcs = clone.path("pcs");
        assertThat(pcs).hasSize(2);
        assertThat(pcs.get(0).path("pc").asLong()).isZero();
        assertThat(pcs.get(0).path("segments")).singleElement().satisfies(s -> {
            assertThat(s.path("segment").asInt()).isZero();
            assertThat(s.path("state").asString()).isEqualTo("ZERO");
            assertThat(s.path("crcs")).isEmpty();
        });
        assertThat(pcs.get(1).path("pc").asLong()).isEqualTo(2);
        JsonNode data = pcs.get(1).path("segments").get(0);
        assertThat(data.path("segment").asInt()).isEqualTo(3);
        assertThat(data.path("state").asString()).isEqualTo("DATA");
        assertThat(ints(data.path("crcs"))).isEqualTo(crcs(written));
        assertThat(ints(root.path("pcs").get(0).path("segments").get(0).path("crcs")))
                .isEqualTo(crcs(image));
        assertThat(NodeClient.json(node.get("/v1/lcs/" + lcs[1] + "/segments?firstPc=1&pcCount=1"))
                        .path("pcs"))
                .isEmpty();
    }

    @Test
    void aColumnsListingHoldsOnlyEveryStrideThPcAndLeavesOutTheCrcsWhenAskedTo() {
        long[] lcs = imageAndClone(random(SEG, 4));
        byte[] written = random(SEG, 5);
        for (int pc = 0; pc < 4; pc++) {
            node.write(lcs[1], pc * PC + SEG, written);
        }

        // column 1 of 3 in PCs 0..3: PC 1 only; column 0: PCs 0 and 3
        JsonNode column1 =
                NodeClient.json(node.get("/v1/lcs/" + lcs[1] + "/segments?firstPc=1&pcCount=3&pcStride=3&crcs=false"));
        JsonNode column0 = NodeClient.json(node.get("/v1/lcs/" + lcs[1] + "/segments?firstPc=0&pcCount=4&pcStride=3"));

        assertThat(column1.path("pcs")).singleElement().satisfies(pc -> {
            assertThat(pc.path("pc").asLong()).isEqualTo(1);
            assertThat(pc.path("segments")).singleElement().satisfies(s -> {
                assertThat(s.path("state").asString()).isEqualTo("DATA");
                assertThat(s.path("crcs")).as("left out").isEmpty();
            });
        });
        assertThat(column0.path("pcs")).extracting(pc -> pc.path("pc").asLong()).containsExactly(0L, 3L);
        assertThat(ints(column0.path("pcs").get(1).path("segments").get(0).path("crcs")))
                .isEqualTo(crcs(written));
        assertProblem(
                node.get("/v1/lcs/" + lcs[1] + "/segments?firstPc=0&pcCount=4&pcStride=0"), 400, "INVALID_ARGUMENT");
    }

    @Test
    void aDigestListingTellsSegmentsApartByOneValueOfTheirBlockCrcs() {
        long[] lcs = imageAndClone(random(SEG, 6));
        byte[] one = random(SEG, 7);
        byte[] other = random(SEG, 8);
        node.write(lcs[1], 0, one);
        node.write(lcs[1], SEG, one);
        node.write(lcs[1], 2L * SEG, other);

        JsonNode segments = NodeClient.json(node.get("/v1/lcs/" + lcs[1] + "/segments?firstPc=0&pcCount=1&digest=true"))
                .path("pcs")
                .get(0)
                .path("segments");

        List<Integer> digests = new ArrayList<>();
        segments.forEach(s -> {
            assertThat(s.path("crcs")).as("one value").hasSize(1);
            digests.add(s.path("crcs").get(0).asInt());
        });
        assertThat(digests).hasSize(3);
        assertThat(digests.get(0)).as("equal copies").isEqualTo(digests.get(1));
        assertThat(digests.get(2)).as("another copy").isNotEqualTo(digests.get(0));
        java.nio.ByteBuffer blockCrcs = java.nio.ByteBuffer.allocate(64 * 4);
        crcs(one).forEach(blockCrcs::putInt);
        CRC32C digest = new CRC32C();
        digest.update(blockCrcs.flip());
        assertThat(digests.get(0)).as("the CRC32C of the block CRCs").isEqualTo((int) digest.getValue());
    }

    @Test
    void aHeldDataSegmentIsReadAsStoredAndAnythingElseIs404() {
        byte[] image = random(SEG, 3);
        long[] lcs = imageAndClone(image);

        HttpResponse<byte[]> own = node.getBytes("/v1/lcs/" + lcs[0] + "/segments/0/0");
        assertThat(own.statusCode()).isEqualTo(200);
        assertThat(own.headers().firstValue("Content-Type")).hasValue("application/octet-stream");
        assertThat(own.body()).isEqualTo(image);

        HttpResponse<String> inherited = node.get("/v1/lcs/" + lcs[1] + "/segments/0/0");
        assertProblem(inherited, 404, "SEGMENT_NOT_HELD");
        assertProblem(node.get("/v1/lcs/" + lcs[0] + "/segments/0/1"), 404, "SEGMENT_NOT_HELD");
        assertProblem(node.get("/v1/lcs/987654321/segments/0/0"), 404, "UNKNOWN_LC");
    }

    @Test
    void aFillOfAnUnheldSegmentAnswers201AndReadsBackAndASecondFillChangesNothing() {
        long[] lcs = imageAndClone(random(SEG, 4));
        byte[] fill = random(SEG, 5);

        HttpResponse<String> first = fill(lcs[1], "1/7", fill);
        HttpResponse<String> again = fill(lcs[1], "1/7", random(SEG, 6));

        assertThat(first.statusCode()).as(first.body()).isEqualTo(201);
        assertThat(NodeClient.json(first).path("filled").asBoolean()).isTrue();
        assertThat(again.statusCode()).isEqualTo(200);
        assertThat(NodeClient.json(again).path("filled").asBoolean()).isFalse();
        assertThat(node.read(lcs[1], PC + 7L * SEG, SEG)).isEqualTo(fill);
        assertThat(node.getBytes("/v1/lcs/" + lcs[1] + "/segments/1/7").body()).isEqualTo(fill);
    }

    @Test
    void aFillAfterALiveWriteIsRefusedWith200AndTheLiveDataStays() {
        byte[] image = random(SEG, 7);
        long[] lcs = imageAndClone(image);
        byte[] live = random(4096, 8);
        node.write(lcs[1], 8192, live);

        HttpResponse<String> refused = fill(lcs[1], "0/0", random(SEG, 9));
        HttpResponse<String> refusedZero =
                node.put("/v1/lcs/" + lcs[1] + "/segments/0/0?zero=true", HttpRequest.BodyPublishers.noBody());

        assertThat(refused.statusCode()).isEqualTo(200);
        assertThat(refusedZero.statusCode()).isEqualTo(200);
        byte[] expected = image.clone();
        System.arraycopy(live, 0, expected, 8192, 4096);
        assertThat(node.read(lcs[1], 0, SEG)).isEqualTo(expected);
    }

    @Test
    void aZeroFillHidesTheParentsData() {
        long[] lcs = imageAndClone(random(SEG, 10));

        HttpResponse<String> zero =
                node.put("/v1/lcs/" + lcs[1] + "/segments/0/0?zero=true", HttpRequest.BodyPublishers.noBody());

        assertThat(zero.statusCode()).as(zero.body()).isEqualTo(201);
        assertThat(node.read(lcs[1], 0, SEG)).containsOnly(0);
    }

    @Test
    void aFrozenLcIsFilledTooAndItsCloneReadsTheFill() {
        long[] lcs = imageAndClone(random(SEG, 11));
        byte[] fill = random(SEG, 12);
        assertThat(node.read(lcs[1], 3 * PC, SEG)).containsOnly(0);

        assertThat(fill(lcs[0], "3/0", fill).statusCode()).isEqualTo(201);

        assertThat(node.read(lcs[1], 3 * PC, SEG)).isEqualTo(fill);
    }

    @Test
    void badAddressesSizesAndMissingTokensAreProblems() {
        long[] lcs = imageAndClone(random(SEG, 13));
        String base = "/v1/lcs/" + lcs[1];

        assertProblem(fill(lcs[1], "0/16", new byte[SEG]), 400, "INVALID_ARGUMENT");
        assertProblem(fill(lcs[1], "-1/0", new byte[SEG]), 400, "INVALID_ARGUMENT");
        assertProblem(fill(lcs[1], "0/x", new byte[SEG]), 400, "INVALID_ARGUMENT");
        assertProblem(fill(lcs[1], "0/1", new byte[SEG - 1]), 400, "INVALID_ARGUMENT");
        assertProblem(fill(lcs[1], "0/1", new byte[0]), 400, "INVALID_ARGUMENT");
        assertProblem(fill(lcs[1], "0/1", new byte[SEG + 1]), 413, "PAYLOAD_TOO_LARGE");
        assertProblem(node.put(base + "/segments/0/1?zero=true", new byte[10]), 400, "INVALID_ARGUMENT");
        assertProblem(
                node.put(base + "/segments/0/1", "application/json", new byte[SEG]), 415, "UNSUPPORTED_MEDIA_TYPE");
        assertProblem(node.put(base + "/segments/0/1", "not a type", new byte[SEG]), 415, "UNSUPPORTED_MEDIA_TYPE");
        assertProblem(fill(lcs[1], "4/0", new byte[SEG]), 416, "OUT_OF_RANGE");
        assertProblem(fill(987654321, "0/0", new byte[SEG]), 404, "UNKNOWN_LC");
        assertProblem(node.get(base + "/segments?firstPc=0&pcCount=0"), 400, "INVALID_ARGUMENT");
        assertProblem(node.get(base + "/segments?firstPc=0&pcCount=1025"), 400, "INVALID_ARGUMENT");
        assertProblem(node.get(base + "/segments?firstPc=-1&pcCount=1"), 400, "INVALID_ARGUMENT");
        assertProblem(node.get(base + "/segments?firstPc=4&pcCount=1"), 416, "OUT_OF_RANGE");
        assertProblem(node.get(base + "/segments?pcCount=1"), 400, "INVALID_ARGUMENT");
        assertProblem(node.get(base + "/segments/0/99"), 400, "INVALID_ARGUMENT");
        NodeClient anonymous = node.withToken("");
        assertUnauthorized(anonymous.get(base + "/segments?firstPc=0&pcCount=1"));
        assertUnauthorized(anonymous.get(base + "/segments/0/0"));
        assertUnauthorized(anonymous.put(base + "/segments/0/1", new byte[SEG]));
        // nothing of the refused fills landed
        assertThat(node.read(lcs[1], SEG, SEG)).containsOnly(0);
        assertThat(NodeClient.json(node.get(base + "/segments?firstPc=0&pcCount=4"))
                        .path("pcs"))
                .isEmpty();
    }

    @Test
    void aRepairReplacesARottedSegmentWithTheSourcesOwnBytesAndSkipsOneEitherSideChangedSinceTheComparison()
            throws Exception {
        byte[] good = random(2 * SEG, 14);
        long source = IDS.incrementAndGet();
        long target = IDS.incrementAndGet();
        node.define("[" + def(source, null, PC, false) + "," + def(target, null, PC, false) + "]");
        node.write(source, 0, good);
        node.write(target, 0, good);
        node.post("/v1/lcs/" + target + ":flush");
        byte[] first = java.util.Arrays.copyOf(good, SEG);
        byte[] second = java.util.Arrays.copyOfRange(good, SEG, 2 * SEG);
        rot(target, 5 * 4096 + 11);
        rot(target, SEG + 7 * 4096);
        assertThat(node.get("/v1/lcs/" + target + "/data?offset=0&length=" + SEG)
                        .statusCode())
                .as("the rot is what a read finds")
                .isEqualTo(500);
        byte[] newer = random(SEG, 15);
        node.write(source, SEG, newer); // the source changed segment 1 after the comparison

        HttpResponse<String> repaired = node.post(
                "/v1/lcs/" + target + ":repair",
                repairBody(source, repair(0, data(first), data(first)), repair(1, data(second), data(second))));

        assertThat(repaired.statusCode()).as(repaired.body()).isEqualTo(200);
        JsonNode result = NodeClient.json(repaired);
        assertThat(result.path("segmentsRepaired").asLong()).isEqualTo(1);
        assertThat(result.path("segmentsSkipped").asLong()).isEqualTo(1);
        assertThat(result.path("bytesCopied").asLong()).isEqualTo(SEG);
        assertThat(node.read(target, 0, SEG)).isEqualTo(first);
        assertThat(node.get("/v1/lcs/" + target + "/data?offset=" + SEG + "&length=" + SEG)
                        .statusCode())
                .as("skipped: still rotten, for the next scrub")
                .isEqualTo(500);

        // the target changed since the comparison: its write is kept
        node.write(target, SEG, newer);
        HttpResponse<String> stale =
                node.post("/v1/lcs/" + target + ":repair", repairBody(source, repair(1, data(second), data(newer))));
        assertThat(NodeClient.json(stale).path("segmentsSkipped").asLong()).isEqualTo(1);
        HttpResponse<String> current = node.post(
                "/v1/lcs/" + target + ":repair",
                repairBody(
                        source,
                        repair(1, data(newer), data(newer)),
                        repair(2, "{\"state\":\"UNOWNED\",\"crcs\":[]}", "{\"state\":\"ZERO\",\"crcs\":[]}")));
        assertThat(NodeClient.json(current).path("segmentsRepaired").asLong()).isEqualTo(2);
        assertThat(node.read(target, SEG, SEG)).isEqualTo(newer);
        JsonNode own = NodeClient.json(node.get("/v1/lcs/" + target + "/segments?firstPc=0&pcCount=1"));
        assertThat(own.path("pcs").get(0).path("segments").get(2).path("state").asString())
                .isEqualTo("ZERO");
    }

    @Test
    void aRepairIsRefusedWhileTheLcIsRebuiltAndForContentItCannotInstall() {
        long[] lcs = imageAndClone(random(SEG, 16));
        String zero = "{\"state\":\"ZERO\",\"crcs\":[]}";
        String unowned = "{\"state\":\"UNOWNED\",\"crcs\":[]}";

        assertProblem(
                node.post("/v1/lcs/" + lcs[1] + ":repair", repairBody(lcs[0], repair(0, zero, unowned))),
                400,
                "INVALID_ARGUMENT");
        assertProblem(
                node.post(
                        "/v1/lcs/" + lcs[1] + ":repair",
                        repairBody(lcs[0], repair(0, zero, "{\"state\":\"DATA\",\"crcs\":[1,2,3]}"))),
                400,
                "INVALID_ARGUMENT");
        assertProblem(
                node.post(
                        "/v1/lcs/" + lcs[1] + ":repair",
                        repairBody(lcs[0], repair(0, zero, "{\"state\":\"ODD\",\"crcs\":[]}"))),
                400,
                "INVALID_ARGUMENT");
        assertProblem(
                node.post("/v1/lcs/" + lcs[1] + ":repair", repairBody(lcs[0], repair(4 * 16, unowned, zero))),
                400,
                "INVALID_ARGUMENT");
        assertThat(node.putJson(
                                "/v1/lcs/" + lcs[1] + "/rebuildSource",
                                "{\"endpoint\":\"http://127.0.0.1:" + port + "\",\"token\":\"" + TOKEN + "\",\"lcId\":"
                                        + lcs[0] + "}")
                        .statusCode())
                .isEqualTo(200);
        assertProblem(
                node.post("/v1/lcs/" + lcs[1] + ":repair", repairBody(lcs[0], repair(0, unowned, zero))),
                409,
                "REBUILDING");
        assertUnauthorized(node.withToken("").post("/v1/lcs/" + lcs[1] + ":repair", repairBody(lcs[0])));
        assertThat(NodeClient.json(node.get("/v1/lcs/" + lcs[1] + "/segments?firstPc=0&pcCount=4"))
                        .path("pcs"))
                .as("nothing of the refused repairs landed")
                .isEmpty();
    }

    /** Flips one byte of the lc's data file on disk, behind the engine's back. */
    private static void rot(long lc, long at) throws java.io.IOException {
        try (var file = java.nio.channels.FileChannel.open(
                DATA_DIR.resolve("lc-" + lc + ".data"),
                java.nio.file.StandardOpenOption.READ,
                java.nio.file.StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer one = java.nio.ByteBuffer.allocate(1);
            file.read(one, at);
            one.put(0, (byte) ~one.get(0)).rewind();
            file.write(one, at);
        }
    }

    private static String data(byte[] segment) {
        return "{\"state\":\"DATA\",\"crcs\":" + crcs(segment) + "}";
    }

    private static String repair(long segment, String held, String wanted) {
        return "{\"segment\":" + segment + ",\"held\":" + held + ",\"wanted\":" + wanted + "}";
    }

    private String repairBody(long sourceLc, String... repairs) {
        return "{\"source\":{\"endpoint\":\"http://127.0.0.1:" + port + "\",\"token\":\"" + TOKEN + "\",\"lcId\":"
                + sourceLc + "},\"segments\":[" + String.join(",", repairs) + "]}";
    }
}
