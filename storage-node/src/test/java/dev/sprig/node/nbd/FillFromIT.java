package dev.sprig.node.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.node.NodeTestDirs;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Two real storage-node processes: the target fills an lc from the source's copy with
 * {@code POST /v1/lcs/{id}:fillFrom} while a client keeps writing to the target's lc over HTTP.
 * The target ends with the source's data everywhere except where the live writes landed, which
 * hold the live data: a fill never overwrites a segment the target already holds.
 */
class FillFromIT {

    static final String SOURCE_TOKEN = "fill-source-token-0123456789";
    static final String TARGET_TOKEN = "fill-target-token-0123456789";
    static final int SEG = 256 * 1024;
    static final int BLOCK = 4096;
    static final long PC = 4L << 20;
    static final int PCS = 8;
    static final int SEGMENTS = PCS * 16;
    static final long LC = 4242;
    static final JsonMapper JSON = JsonMapper.builder().build();
    static final HttpClient HTTP = HttpClient.newHttpClient();

    static NodeProcess source;
    static NodeProcess target;

    @BeforeAll
    static void start() {
        Path dir = NodeTestDirs.fresh("fill-from");
        source = new NodeProcess(SOURCE_TOKEN, dir.resolve("source"), dir.resolve("source.log"));
        target = new NodeProcess(TARGET_TOKEN, dir.resolve("target"), dir.resolve("target.log"));
    }

    @AfterAll
    static void stop() {
        if (source != null) {
            source.close();
        }
        if (target != null) {
            target.close();
        }
    }

    static HttpResponse<byte[]> send(HttpRequest.Builder request) {
        try {
            return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static void write(NodeProcess node, long offset, byte[] bytes) {
        HttpResponse<byte[]> r = send(node.authorized("/v1/lcs/" + LC + "/data?offset=" + offset)
                .header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes)));
        assertThat(r.statusCode()).as(new String(r.body())).isEqualTo(204);
    }

    static byte[] read(NodeProcess node, long offset, int length) {
        HttpResponse<byte[]> r = send(node.authorized("/v1/lcs/" + LC + "/data?offset=" + offset + "&length=" + length)
                .GET());
        assertThat(r.statusCode()).isEqualTo(200);
        return r.body();
    }

    static byte[] random(int length, long seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void theTargetGetsTheSourcesDataExceptWhereLiveWritesLandedWhichKeepTheLiveData() throws Exception {
        String define = "{\"lcs\":[{\"lcId\":" + LC + ",\"sizeBytes\":" + PCS * PC + ",\"frozen\":false}]}";
        assertThat(source.post("/v1/lcs:batchDefine", define).statusCode()).isEqualTo(200);
        assertThat(target.post("/v1/lcs:batchDefine", define).statusCode()).isEqualTo(200);
        // the source holds data in every segment but every 8th, and zeros (over data) in every 16th
        for (int s = 0; s < SEGMENTS; s++) {
            if (s % 8 != 7) {
                write(source, (long) s * SEG, random(SEG, s));
            }
            if (s % 16 == 3) {
                assertThat(source.post("/v1/lcs/" + LC + ":writeZeroes?offset=" + (long) s * SEG + "&length=" + SEG, "")
                                .statusCode())
                        .isEqualTo(204);
            }
        }
        int sourceHeld = SEGMENTS - SEGMENTS / 8;
        byte[] sourceBytes = read(source, 0, (int) (PCS * PC));

        Map<Integer, byte[]> live = new HashMap<>(); // block -> last bytes written, by the one writer
        AtomicBoolean filling = new AtomicBoolean(true);
        CompletableFuture<Integer> writer = CompletableFuture.supplyAsync(() -> {
            Random r = new Random(99);
            int writes = 0;
            while (filling.get() || writes < 50) {
                int block = r.nextInt(SEGMENTS * (SEG / BLOCK));
                byte[] bytes = random(BLOCK, 100_000 + writes);
                write(target, (long) block * BLOCK, bytes);
                live.put(block, bytes);
                writes++;
            }
            return writes;
        });
        long rate = 16L << 20;
        long started = System.nanoTime();
        HttpResponse<String> fill = target.post(
                "/v1/lcs/" + LC + ":fillFrom",
                "{\"source\":{\"endpoint\":\"" + source.baseUrl() + "\",\"token\":\"" + SOURCE_TOKEN + "\",\"lcId\":"
                        + LC + "},\"firstPc\":0,\"pcCount\":" + PCS + ",\"bytesPerSecond\":" + rate + "}");
        double seconds = (System.nanoTime() - started) / 1e9;
        filling.set(false);
        int writes = writer.get();

        assertThat(fill.statusCode()).as(fill.body()).isEqualTo(200);
        JsonNode result = JSON.readTree(fill.body());
        long filled = result.path("segmentsFilled").asLong();
        long skipped = result.path("segmentsSkipped").asLong();
        long bytes = result.path("bytesCopied").asLong();
        System.out.printf(
                "fillFrom: %d filled, %d skipped, %d bytes in %.2f s; %d live writes meanwhile%n",
                filled, skipped, bytes, seconds, writes);
        assertThat(filled + skipped).isEqualTo(sourceHeld);
        assertThat(skipped).as("segments a live write reached first").isPositive();
        assertThat(bytes).isLessThanOrEqualTo((long) (sourceHeld - SEGMENTS / 16) * SEG);
        assertThat(seconds).as("throttled to %d bytes/s", rate).isGreaterThan(0.9 * bytes / rate);

        byte[] targetBytes = read(target, 0, (int) (PCS * PC));
        int segmentsWithLiveWrites = 0;
        for (int s = 0; s < SEGMENTS; s++) {
            boolean written = false;
            for (int b = 0; b < SEG / BLOCK; b++) {
                int block = s * (SEG / BLOCK) + b;
                byte[] actual = Arrays.copyOfRange(targetBytes, block * BLOCK, (block + 1) * BLOCK);
                byte[] fromSource = Arrays.copyOfRange(sourceBytes, block * BLOCK, (block + 1) * BLOCK);
                byte[] liveBytes = live.get(block);
                if (liveBytes != null) {
                    written = true;
                    assertThat(actual).as("block %d, written live", block).isEqualTo(liveBytes);
                } else if (!Arrays.equals(actual, fromSource)) {
                    // a live write reached this segment before the fill: it kept what it held (zeros)
                    assertThat(actual).as("block %d", block).containsOnly(0);
                }
            }
            if (written) {
                segmentsWithLiveWrites++;
            } else {
                assertThat(Arrays.copyOfRange(targetBytes, s * SEG, (s + 1) * SEG))
                        .as("segment %d, untouched by live writes, reads as the source", s)
                        .isEqualTo(Arrays.copyOfRange(sourceBytes, s * SEG, (s + 1) * SEG));
            }
        }
        assertThat(segmentsWithLiveWrites).isPositive();
        assertThat(writes).isGreaterThanOrEqualTo(50);

        // a second fill finds everything held and changes nothing
        HttpResponse<String> again = target.post(
                "/v1/lcs/" + LC + ":fillFrom",
                "{\"source\":{\"endpoint\":\"" + source.baseUrl() + "\",\"token\":\"" + SOURCE_TOKEN + "\",\"lcId\":"
                        + LC + "},\"firstPc\":0,\"pcCount\":" + PCS + "}");
        assertThat(JSON.readTree(again.body()).path("segmentsFilled").asLong()).isZero();
        assertThat(read(target, 0, (int) (PCS * PC))).isEqualTo(targetBytes);

        // and the fill survives a kill of the target (it was flushed)
        target.kill();
        target.start();
        assertThat(read(target, 0, (int) (PCS * PC))).isEqualTo(targetBytes);
    }

    @Test
    void aBadSourceIsAProblemAndNothingChanges() {
        long lc = 4343;
        String define = "{\"lcs\":[{\"lcId\":" + lc + ",\"sizeBytes\":" + PC + ",\"frozen\":false}]}";
        assertThat(target.post("/v1/lcs:batchDefine", define).statusCode()).isEqualTo(200);
        assertThat(source.post("/v1/lcs:batchDefine", define).statusCode()).isEqualTo(200);

        HttpResponse<String> wrongToken = target.post(
                "/v1/lcs/" + lc + ":fillFrom",
                "{\"source\":{\"endpoint\":\"" + source.baseUrl() + "\",\"token\":\"wrong\",\"lcId\":" + lc
                        + "},\"firstPc\":0,\"pcCount\":1}");
        HttpResponse<String> notANode = target.post(
                "/v1/lcs/" + lc + ":fillFrom",
                "{\"source\":{\"endpoint\":\"file:///etc\",\"token\":\"x\",\"lcId\":" + lc
                        + "},\"firstPc\":0,\"pcCount\":1}");
        HttpResponse<String> noCount = target.post(
                "/v1/lcs/" + lc + ":fillFrom",
                "{\"source\":{\"endpoint\":\"" + source.baseUrl() + "\",\"token\":\"x\",\"lcId\":" + lc
                        + "},\"firstPc\":0}");

        assertThat(wrongToken.statusCode()).as(wrongToken.body()).isEqualTo(502);
        assertThat(notANode.statusCode()).as(notANode.body()).isEqualTo(400);
        assertThat(noCount.statusCode()).as(noCount.body()).isEqualTo(400);
    }
}
