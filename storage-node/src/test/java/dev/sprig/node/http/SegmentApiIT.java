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

    @DynamicPropertySource
    static void dataDir(DynamicPropertyRegistry registry) {
        registry.add(
                "sprig.node.data-dir", () -> NodeTestDirs.fresh("segment-api").toString());
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
}
