package dev.sprig.node.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.node.NodeTestDirs;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Two real storage-node processes as a column whose member B returns after missing writes that its
 * in-sync peer A took (decision 012, catch-up): B holds the same lcs, but old versions of some
 * segments. In catch-up mode B treats the segments it holds as suspect (while pending: all of the
 * column's; then those named), so a partial live write (HTTP or NBD) first replaces the segment with
 * A's bytes and is never merged with B's old ones; a segment a live write made right is never
 * suspect again; the catch-up fill replaces suspect held segments and leaves every other one alone.
 */
class CatchUpWritesIT {

    static final String TOKEN_A = "catchup-a-token-0123456789";
    static final String TOKEN_B = "catchup-b-token-0123456789";
    static final int SEG = 256 * 1024;
    static final int KIB = 1024;
    static final long PC = 4L << 20;
    static final long SIZE = 2 * PC;
    static final JsonMapper JSON = JsonMapper.builder().build();
    static final HttpClient HTTP = HttpClient.newHttpClient();

    static NodeProcess a;
    static NodeProcess b;

    @BeforeAll
    static void start() {
        Path dir = NodeTestDirs.fresh("catchup-writes");
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
    void suspectSegmentsAreReplacedFromTheSourceBeforeAPartialWriteAndByTheFillButCleanOnesAreKept() {
        long lc = 8100;
        define(a, lc, false);
        define(b, lc, false);
        // both held everything (segments 0-7) once; then A took writes B missed, in segments 1-5
        byte[] old = random(8 * SEG, 1);
        write(a, lc, 0, old);
        write(b, lc, 0, old);
        for (int segment = 1; segment <= 5; segment++) {
            write(a, lc, segment * (long) SEG + 64 * KIB, random(8 * KIB, 10 + segment));
        }
        setCatchUp(lc, 0, 1);
        JsonNode shown = JSON.readTree(b.get("/v1/lcs/" + lc + "/rebuildSource").body());
        assertThat(shown.path("catchUpColumn").asInt()).isZero();
        assertThat(shown.path("pending").asBoolean()).isTrue();

        // pending: partial live writes into held segments 1 (HTTP) and 2 (NBD) replace them first
        write(a, lc, SEG + 100 * KIB, random(4 * KIB, 20));
        write(b, lc, SEG + 100 * KIB, random(4 * KIB, 20));
        qemuIo(a, lc, "write -P 0x3c 520k 4k");
        qemuIo(b, lc, "write -P 0x3c 520k 4k");
        // and one covering segment 6 whole cleans it (its bytes are the write's)
        byte[] whole = random(SEG, 21);
        write(a, lc, 6L * SEG, whole);
        write(b, lc, 6L * SEG, whole);
        byte[] onA = read(a, lc, 0, (int) SIZE);
        byte[] onB = read(b, lc, 0, (int) SIZE);
        for (int segment : new int[] {1, 2, 6}) {
            assertThat(Arrays.equals(segmentOf(onB, segment), segmentOf(onA, segment)))
                    .as("segment %d reads on B as on A: the write was merged with A's bytes, not B's old ones", segment)
                    .isTrue();
        }
        assertThat(JSON.readTree(b.get("/v1/lcs/" + lc + "/rebuildSource").body())
                        .path("cleaned")
                        .asLong())
                .isEqualTo(3);

        // the comparison: 1-5 differ (1 and 2 no longer, but the listing was taken before the writes)
        HttpResponse<String> marked = b.post("/v1/lcs/" + lc + "/rebuildSource/suspects", "{\"segments\":[1,2,3,4]}");
        assertThat(marked.statusCode()).as(marked.body()).isEqualTo(200);
        JsonNode answer = JSON.readTree(marked.body());
        assertThat(answer.path("marked").asLong()).isEqualTo(2);
        assertThat(answer.path("cleaned").asLong())
                .as("1 and 2 were made right by live writes")
                .isEqualTo(2);
        assertThat(answer.path("suspects").asLong()).isEqualTo(2);
        assertThat(JSON.readTree(b.get("/v1/lcs/" + lc + "/rebuildSource").body())
                        .path("pending")
                        .asBoolean())
                .isFalse();

        // the fill replaces 3 and 4, held by B as data; 5 differs too but is not suspect: kept
        HttpResponse<String> fill = b.post("/v1/lcs/" + lc + "/rebuildSource/suspects:fill", "");
        assertThat(fill.statusCode()).as(fill.body()).isEqualTo(200);
        JsonNode filled = JSON.readTree(fill.body());
        assertThat(filled.path("segmentsFilled").asLong()).isEqualTo(2);
        assertThat(filled.path("bytesCopied").asLong()).isEqualTo(2L * SEG);
        onB = read(b, lc, 0, (int) SIZE);
        for (int segment = 0; segment < 8; segment++) {
            if (segment == 5) {
                assertThat(segmentOf(onB, 5)).as("segment 5, not suspect").isEqualTo(segmentOf(old, 5));
                assertThat(segmentOf(onA, 5)).isNotEqualTo(segmentOf(old, 5));
            } else {
                assertThat(Arrays.equals(segmentOf(onB, segment), segmentOf(onA, segment)))
                        .as("segment %d reads on B as on A", segment)
                        .isTrue();
            }
        }
        // a later partial write into a replaced segment is an ordinary write: nothing fetched over it
        byte[] later = random(4 * KIB, 22);
        write(a, lc, 3L * SEG, later);
        write(b, lc, 3L * SEG, later);
        assertThat(read(b, lc, 3L * SEG, SEG)).isEqualTo(read(a, lc, 3L * SEG, SEG));
        HttpResponse<String> again = b.post("/v1/lcs/" + lc + "/rebuildSource/suspects:fill", "");
        assertThat(JSON.readTree(again.body()).path("segmentsFilled").asLong()).isZero();
        assertThat(read(b, lc, 3L * SEG, SEG)).isEqualTo(read(a, lc, 3L * SEG, SEG));
    }

    @Test
    void pendingCoversOnlyTheColumnsPcsAndAFrozenLcsSuspectsAreReplacedByTheFill() {
        long lc = 8200;
        define(a, lc, false);
        define(b, lc, false);
        byte[] old = random((int) SIZE, 2);
        write(a, lc, 0, old);
        write(b, lc, 0, old);
        byte[] newer = random(SEG, 3);
        write(a, lc, PC, newer); // PC 1, segment 16: column 1 of 2
        write(a, lc, 0, newer); // PC 0, segment 0: column 0
        assertThat(a.post("/v1/lcs/" + lc + ":freeze", "").statusCode()).isEqualTo(200);
        assertThat(b.post("/v1/lcs/" + lc + ":freeze", "").statusCode()).isEqualTo(200);

        setCatchUp(lc, 1, 2);
        HttpResponse<String> marked = b.post("/v1/lcs/" + lc + "/rebuildSource/suspects", "{\"segments\":[16]}");
        assertThat(marked.statusCode()).as(marked.body()).isEqualTo(200);
        HttpResponse<String> fill = b.post("/v1/lcs/" + lc + "/rebuildSource/suspects:fill", "");
        assertThat(fill.statusCode()).as(fill.body()).isEqualTo(200);

        assertThat(JSON.readTree(fill.body()).path("segmentsFilled").asLong()).isEqualTo(1);
        assertThat(read(b, lc, PC, SEG)).isEqualTo(newer);
        assertThat(read(b, lc, 0, SEG)).as("column 0 is not being caught up").isEqualTo(segmentOf(old, 0));
        assertThat(JSON.readTree(b.get("/v1/lcs/" + lc).body()).path("frozen").asBoolean())
                .isTrue();

        // the end of a catch-up removes only its own column's: another column's may be under way
        assertThat(b.send("DELETE", "/v1/lcs/" + lc + "/rebuildSource?catchUpColumn=0")
                        .statusCode())
                .isEqualTo(204);
        assertThat(b.get("/v1/lcs/" + lc + "/rebuildSource").statusCode()).isEqualTo(200);
        assertThat(b.send("DELETE", "/v1/lcs/" + lc + "/rebuildSource?catchUpColumn=1")
                        .statusCode())
                .isEqualTo(204);
        assertThat(b.get("/v1/lcs/" + lc + "/rebuildSource").statusCode()).isEqualTo(404);
    }

    @Test
    void suspectCallsNeedACatchUp() {
        long lc = 8300;
        define(b, lc, false);
        assertThat(b.post("/v1/lcs/" + lc + "/rebuildSource/suspects", "{\"segments\":[1]}")
                        .statusCode())
                .isEqualTo(409);
        assertThat(b.put(
                                "/v1/lcs/" + lc + "/rebuildSource?catchUpColumn=2&columns=2",
                                "{\"endpoint\":\"" + a.baseUrl() + "\",\"token\":\"t\",\"lcId\":1}")
                        .statusCode())
                .isEqualTo(400);
        // a plain rebuild source is no catch-up
        assertThat(b.put(
                                "/v1/lcs/" + lc + "/rebuildSource",
                                "{\"endpoint\":\"" + a.baseUrl() + "\",\"token\":\"t\",\"lcId\":1}")
                        .statusCode())
                .isEqualTo(200);
        assertThat(b.post("/v1/lcs/" + lc + "/rebuildSource/suspects:fill", "").statusCode())
                .isEqualTo(409);
    }

    private static void setCatchUp(long lc, int column, int columns) {
        HttpResponse<String> set = b.put(
                "/v1/lcs/" + lc + "/rebuildSource?catchUpColumn=" + column + "&columns=" + columns,
                "{\"endpoint\":\"" + a.baseUrl() + "\",\"token\":\"" + TOKEN_A + "\",\"lcId\":" + lc + "}");
        assertThat(set.statusCode()).as(set.body()).isEqualTo(200);
    }

    private static byte[] segmentOf(byte[] lc, int segment) {
        return Arrays.copyOfRange(lc, segment * SEG, (segment + 1) * SEG);
    }

    private static void define(NodeProcess node, long lc, boolean frozen) {
        HttpResponse<String> r = node.post(
                "/v1/lcs:batchDefine",
                "{\"lcs\":[{\"lcId\":" + lc + ",\"sizeBytes\":" + SIZE + ",\"frozen\":" + frozen + "}]}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    }

    private static void write(NodeProcess node, long lc, long offset, byte[] bytes) {
        HttpResponse<String> r = node.send(node.authorized("/v1/lcs/" + lc + "/data?offset=" + offset)
                .header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes)));
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
}
