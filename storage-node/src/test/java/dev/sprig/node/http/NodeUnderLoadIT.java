package dev.sprig.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.node.NodeTestDirs;
import dev.sprig.node.StorageNodeApplication;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/** Many HTTP clients at once, and a node that keeps answering while long work runs. */
@SpringBootTest(
        classes = StorageNodeApplication.class,
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "spring.config.name=" + StorageNodeApplication.CONFIG_NAME,
            "sprig.node.nbd.port=0",
            "sprig.node.token=load-token"
        })
class NodeUnderLoadIT {

    static final int MIB = 1 << 20;

    @DynamicPropertySource
    static void dataDir(DynamicPropertyRegistry registry) {
        registry.add(
                "sprig.node.data-dir", () -> NodeTestDirs.fresh("node-load").toString());
    }

    @LocalServerPort
    int port;

    @Autowired
    ChunkEngine engine;

    @Test
    void parallelWritersAndReadersOnClonesOfOneImageSeeExactlyTheirOwnBytes() throws Exception {
        NodeClient node = new NodeClient(port, "load-token");
        int size = 16 * MIB;
        byte[] image = new byte[size];
        new Random(1).nextBytes(image);
        node.define("[{\"lcId\":500,\"sizeBytes\":" + size + ",\"frozen\":false}]");
        node.write(500, 0, image);
        node.post("/v1/lcs/500:freeze");
        int clones = 8;
        var batch = new StringBuilder("[");
        for (int c = 1; c <= clones; c++) {
            batch.append(c == 1 ? "" : ",")
                    .append("{\"lcId\":")
                    .append(500 + c)
                    .append(",\"parentLcId\":500,\"sizeBytes\":")
                    .append(size)
                    .append("}");
        }
        node.define(batch.append("]").toString());

        ExecutorService pool = Executors.newFixedThreadPool(2 * clones);
        List<Future<?>> work = new ArrayList<>();
        for (int c = 1; c <= clones; c++) {
            long lc = 500 + c;
            long seed = c;
            // one writer per clone keeps its own model; a reader per clone checks untouched ranges meanwhile
            work.add(pool.submit(() -> writeAndVerify(node, lc, image.clone(), seed)));
            work.add(pool.submit(() -> readImageThrough(node, 500, image, seed)));
        }
        for (Future<?> done : work) {
            done.get();
        }
        pool.shutdown();
    }

    @Test
    void healthAnswersWhileALongFlattenRuns() throws Exception {
        NodeClient node = new NodeClient(port, "load-token");
        NodeClient probe = node.withToken("");
        int size = 512 * MIB;
        engine.create(900, size);
        byte[] piece = new byte[4 * MIB];
        new Random(9).nextBytes(piece);
        for (long at = 0; at < size; at += piece.length) {
            engine.write(900, at, piece);
        }
        engine.freeze(900);
        engine.createChild(901, 900);

        assertThat(node.post("/v1/lcs/901:flatten").statusCode()).isEqualTo(202);
        int healthyWhileRunning = 0;
        while (NodeClient.json(node.get("/v1/lcs/901/flatten"))
                .path("state")
                .asString()
                .equals("RUNNING")) {
            assertThat(probe.get("/actuator/health/liveness").statusCode()).isEqualTo(200);
            healthyWhileRunning++;
        }

        assertThat(healthyWhileRunning)
                .as("health checks answered during the flatten")
                .isPositive();
        assertThat(NodeClient.json(node.get("/v1/lcs/901/flatten"))
                        .path("state")
                        .asString())
                .isEqualTo("SUCCEEDED");
        assertThat(node.read(901, size - piece.length, piece.length)).isEqualTo(piece);
    }

    private static Void writeAndVerify(NodeClient node, long lc, byte[] model, long seed) {
        var random = new Random(seed);
        for (int i = 0; i < 60; i++) {
            int length = 1 + random.nextInt(600_000);
            int at = random.nextInt(model.length - length);
            byte[] bytes = new byte[length];
            random.nextBytes(bytes);
            node.write(lc, at, bytes);
            System.arraycopy(bytes, 0, model, at, length);
            int checkLength = 1 + random.nextInt(1_000_000);
            int checkAt = random.nextInt(model.length - checkLength);
            byte[] expected = java.util.Arrays.copyOfRange(model, checkAt, checkAt + checkLength);
            assertThat(node.read(lc, checkAt, checkLength)).isEqualTo(expected);
        }
        assertThat(node.read(lc, 0, model.length)).isEqualTo(model);
        return null;
    }

    private static Void readImageThrough(NodeClient node, long image, byte[] expected, long seed) {
        var random = new Random(seed * 31);
        for (int i = 0; i < 60; i++) {
            int length = 1 + random.nextInt(500_000);
            int at = random.nextInt(expected.length - length);
            assertThat(node.read(image, at, length)).isEqualTo(java.util.Arrays.copyOfRange(expected, at, at + length));
        }
        return null;
    }
}
