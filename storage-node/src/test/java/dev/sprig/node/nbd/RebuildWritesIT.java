package dev.sprig.node.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.node.NodeTestDirs;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Two real storage-node processes, as a column with an in-sync member (A) and a rebuilding one (B)
 * after decision 012: an image with data and its writable clone on A; the same lcs defined empty on
 * B, whose clone has A's clone as its rebuild source. The agent's writes go to both, over NBD (real
 * qemu-io) and HTTP: partial writes and zero writes into segments B does not hold. B reads as A
 * wherever they wrote, before any background copy, and the copy ({@code :fillFrom}) that comes
 * afterwards leaves those segments as they are, so that B ends up reading as A everywhere.
 */
class RebuildWritesIT {

    static final String TOKEN_A = "rebuild-a-token-0123456789";
    static final String TOKEN_B = "rebuild-b-token-0123456789";
    static final int SEG = 256 * 1024;
    static final int KIB = 1024;
    static final long PC = 4L << 20;
    static final int PCS = 4;
    static final long SIZE = PCS * PC;
    static final JsonMapper JSON = JsonMapper.builder().build();
    static final HttpClient HTTP = HttpClient.newHttpClient();

    static NodeProcess a;
    static NodeProcess b;

    @BeforeAll
    static void start() {
        Path dir = NodeTestDirs.fresh("rebuild-writes");
        a = new NodeProcess(TOKEN_A, dir.resolve("a"), dir.resolve("a.log"));
        b = new NodeProcess(TOKEN_B, dir.resolve("b"), dir.resolve("b.log"));
    }

    @AfterAll
    static void stop() {
        if (a != null) {
            a.close();
        }
        if (b != null) {
            b.close();
        }
    }

    @Test
    void partialAndZeroWritesOnARebuildingMemberReadAsOnTheSourceAndTheLaterFillKeepsThem() {
        long image = 7100;
        long clone = 7101;
        // A: the image holds data in PCs 0-2, the clone its own data in segments 2-3 and zeros in 4
        define(a, "{\"lcId\":" + image + ",\"sizeBytes\":" + SIZE + ",\"frozen\":false}");
        write(a, image, 0, random(48 * SEG, 1));
        assertThat(a.post("/v1/lcs/" + image + ":freeze", "").statusCode()).isEqualTo(200);
        define(a, "{\"lcId\":" + clone + ",\"parentLcId\":" + image + ",\"sizeBytes\":" + SIZE + "}");
        write(a, clone, 2L * SEG, random(2 * SEG, 2));
        post(a, "/v1/lcs/" + clone + ":writeZeroes?offset=" + 4L * SEG + "&length=" + SEG);
        // B: the same lcs, empty, the clone rebuilding from A's
        define(
                b,
                "{\"lcId\":" + image + ",\"sizeBytes\":" + SIZE + ",\"frozen\":true}",
                "{\"lcId\":" + clone + ",\"parentLcId\":" + image + ",\"sizeBytes\":" + SIZE + "}");
        HttpResponse<String> set = b.put(
                "/v1/lcs/" + clone + "/rebuildSource",
                "{\"endpoint\":\"" + a.baseUrl() + "\",\"token\":\"" + TOKEN_A + "\",\"lcId\":" + clone + "}");
        assertThat(set.statusCode()).as(set.body()).isEqualTo(200);
        HttpResponse<String> shown = b.get("/v1/lcs/" + clone + "/rebuildSource");
        assertThat(JSON.readTree(shown.body()).path("endpoint").asString()).isEqualTo(a.baseUrl());
        assertThat(shown.body()).doesNotContain(TOKEN_A);

        // the agent's writes, to both members
        List<Consumer<NodeProcess>> writes = List.of(
                node -> write(node, clone, 8 * KIB, random(4 * KIB, 3)), // segment 0: the image's
                node -> write(node, clone, 2L * SEG + 100 * KIB, random(4 * KIB, 4)), // 2: the clone's own
                node -> write(node, clone, 5L * SEG + 200 * KIB, random(2 * SEG, 5)), // 5 and 7 in part, 6 whole
                node -> write(node, clone, 8L * SEG, random(SEG, 6)), // 8 whole
                node -> qemuIo(node, clone, "write -P 0xab 2564k 4k"), // 10
                node -> qemuIo(node, clone, "write -z 3072k 256k"), // 12 whole: WRITE_ZEROES
                node -> qemuIo(node, clone, "discard 3392k 64k"), // 13 in part: TRIM
                node -> post(
                        node, "/v1/lcs/" + clone + ":writeZeroes?offset=" + 14L * SEG + "&length=" + (5 * SEG / 2)),
                node -> post(node, "/v1/lcs/" + clone + ":trim?offset=" + 56L * SEG + "&length=" + SEG),
                node -> write(node, clone, 57L * SEG + 4 * KIB, random(4 * KIB, 7)), // nothing anywhere
                node -> qemuIo(node, clone, "write -P 0x5c 8000k 200k")); // 31 and 32, across PCs 1 and 2
        for (Consumer<NodeProcess> write : writes) {
            write.accept(a);
            write.accept(b);
        }

        byte[] onA = read(a, clone, 0, (int) SIZE);
        byte[] onB = read(b, clone, 0, (int) SIZE);
        for (int segment : new int[] {0, 2, 5, 6, 7, 8, 10, 12, 13, 14, 15, 16, 31, 32, 56, 57}) {
            assertThat(Arrays.equals(segmentOf(onB, segment), segmentOf(onA, segment)))
                    .as("segment %d, written on both, reads on B as on A", segment)
                    .isTrue();
        }
        // zero writes over segments B holds nothing of are explicit zero marks, not "nothing here"
        JsonNode pc0 = JSON.readTree(b.get("/v1/lcs/" + clone + "/segments?firstPc=0&pcCount=1")
                        .body())
                .path("pcs")
                .get(0)
                .path("segments");
        assertThat(stateOf(pc0, 12)).isEqualTo("ZERO");
        assertThat(stateOf(pc0, 14)).isEqualTo("ZERO");
        assertThat(stateOf(pc0, 15)).isEqualTo("ZERO");
        assertThat(stateOf(pc0, 13)).isEqualTo("DATA");

        // the background copy, ancestors first: it fills what B lacks and skips what the writes hold
        JsonNode imageFill = fillFrom(image);
        JsonNode cloneFill = fillFrom(clone);
        assertThat(imageFill.path("segmentsFilled").asLong()).isEqualTo(48);
        // A's clone holds 17 segments (3 and 4 from before, the rest written live, but 56: a trim
        // where nothing is stored stays unowned there); B held all but 3 and 4 through live writes
        assertThat(cloneFill.path("segmentsFilled").asLong()).isEqualTo(2);
        assertThat(cloneFill.path("segmentsSkipped").asLong()).isEqualTo(15);
        assertThat(Arrays.equals(read(b, clone, 0, (int) SIZE), onA))
                .as("B's clone reads as A's everywhere")
                .isTrue();

        assertThat(b.send("DELETE", "/v1/lcs/" + clone + "/rebuildSource").statusCode())
                .isEqualTo(204);
        assertThat(b.get("/v1/lcs/" + clone + "/rebuildSource").statusCode()).isEqualTo(404);
    }

    @Test
    void aRebuildSourceThatIsDownFailsTheWritesThatNeedItAndTheyChangeNothing() throws IOException {
        long image = 7200;
        long clone = 7201;
        define(
                b,
                "{\"lcId\":" + image + ",\"sizeBytes\":" + PC + ",\"frozen\":true}",
                "{\"lcId\":" + clone + ",\"parentLcId\":" + image + ",\"sizeBytes\":" + PC + "}");
        String down = "http://127.0.0.1:" + deadPort();
        assertThat(b.put(
                                "/v1/lcs/" + clone + "/rebuildSource",
                                "{\"endpoint\":\"" + down + "\",\"token\":\"t\",\"lcId\":" + clone + "}")
                        .statusCode())
                .isEqualTo(200);

        HttpResponse<String> partial = b.send(b.authorized("/v1/lcs/" + clone + "/data?offset=4096")
                .header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(random(4 * KIB, 8))));
        HttpResponse<String> partialZeroes = b.post("/v1/lcs/" + clone + ":writeZeroes?offset=4096&length=" + SEG, "");
        Tool nbd = Tool.run("qemu-io", "-f", "raw", "-c", "write -P 0x11 4k 4k", nbdUri(b, clone));

        assertThat(partial.statusCode()).as(partial.body()).isEqualTo(502);
        assertThat(JSON.readTree(partial.body()).path("code").asString()).isEqualTo("SOURCE_UNREADABLE");
        assertThat(partialZeroes.statusCode()).as(partialZeroes.body()).isEqualTo(502);
        assertThat(nbd.exitCode()).as(nbd.output()).isNotZero();
        assertThat(nbd.output()).containsIgnoringCase("Input/output error");
        assertThat(JSON.readTree(b.get("/v1/lcs/" + clone + "/segments?firstPc=0&pcCount=1")
                                .body())
                        .path("pcs"))
                .as("nothing written, not even in part")
                .isEmpty();

        // what needs nothing from the source still works
        byte[] whole = random(SEG, 9);
        write(b, clone, SEG, whole);
        post(b, "/v1/lcs/" + clone + ":writeZeroes?offset=" + 2L * SEG + "&length=" + SEG);
        assertThat(read(b, clone, SEG, SEG)).isEqualTo(whole);
    }

    @Test
    void aRebuildSourceIsABareNodeEndpointForAnLcTheNodeHas() {
        long lc = 7300;
        define(b, "{\"lcId\":" + lc + ",\"sizeBytes\":" + PC + "}");

        HttpResponse<String> notANode =
                b.put("/v1/lcs/" + lc + "/rebuildSource", "{\"endpoint\":\"file:///etc\",\"token\":\"t\",\"lcId\":1}");
        HttpResponse<String> noToken =
                b.put("/v1/lcs/" + lc + "/rebuildSource", "{\"endpoint\":\"" + a.baseUrl() + "\",\"lcId\":1}");
        HttpResponse<String> unknownLc = b.put(
                "/v1/lcs/987654/rebuildSource", "{\"endpoint\":\"" + a.baseUrl() + "\",\"token\":\"t\",\"lcId\":1}");

        assertThat(notANode.statusCode()).as(notANode.body()).isEqualTo(400);
        assertThat(noToken.statusCode()).as(noToken.body()).isEqualTo(400);
        assertThat(unknownLc.statusCode()).as(unknownLc.body()).isEqualTo(404);
        assertThat(b.get("/v1/lcs/" + lc + "/rebuildSource").statusCode()).isEqualTo(404);
        assertThat(b.send("DELETE", "/v1/lcs/" + lc + "/rebuildSource").statusCode())
                .isEqualTo(204);
    }

    private JsonNode fillFrom(long lc) {
        HttpResponse<String> fill = b.post(
                "/v1/lcs/" + lc + ":fillFrom",
                "{\"source\":{\"endpoint\":\"" + a.baseUrl() + "\",\"token\":\"" + TOKEN_A + "\",\"lcId\":" + lc
                        + "},\"firstPc\":0,\"pcCount\":" + PCS + "}");
        assertThat(fill.statusCode()).as(fill.body()).isEqualTo(200);
        return JSON.readTree(fill.body());
    }

    private static String stateOf(JsonNode segments, int segment) {
        for (JsonNode s : segments) {
            if (s.path("segment").asInt() == segment) {
                return s.path("state").asString();
            }
        }
        return "UNOWNED";
    }

    private static byte[] segmentOf(byte[] lc, int segment) {
        return Arrays.copyOfRange(lc, segment * SEG, (segment + 1) * SEG);
    }

    private static void define(NodeProcess node, String... lcs) {
        HttpResponse<String> r = node.post("/v1/lcs:batchDefine", "{\"lcs\":[" + String.join(",", lcs) + "]}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }

    private static void write(NodeProcess node, long lc, long offset, byte[] bytes) {
        HttpResponse<String> r = node.send(node.authorized("/v1/lcs/" + lc + "/data?offset=" + offset)
                .header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes)));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(204);
    }

    private static void post(NodeProcess node, String path) {
        HttpResponse<String> r = node.post(path, "");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(204);
    }

    private static byte[] read(NodeProcess node, long lc, long offset, int length) {
        try {
            HttpResponse<byte[]> r = HTTP.send(
                    node.authorized("/v1/lcs/" + lc + "/data?offset=" + offset + "&length=" + length)
                            .GET()
                            .build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertThat(r.statusCode()).isEqualTo(200);
            return r.body();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static void qemuIo(NodeProcess node, long lc, String command) {
        Tool.run("qemu-io", "-f", "raw", "-c", command, "-c", "flush", nbdUri(node, lc))
                .succeeded();
    }

    private static String nbdUri(NodeProcess node, long lc) {
        return node.nbdUri(ExportName.of(node == a ? TOKEN_A : TOKEN_B, lc));
    }

    private static byte[] random(int length, long seed) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    /** A port nothing listens on (taken and released): a node that is down. */
    private static int deadPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
