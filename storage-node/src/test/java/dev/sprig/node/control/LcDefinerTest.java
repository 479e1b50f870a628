package dev.sprig.node.control;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.engine.NewLc;
import dev.sprig.nodeapi.DefineResult;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Batches are defined concurrently, and a batch racing an identical one is still idempotent. */
class LcDefinerTest {

    static final long IMAGE = 1;
    static final long SIZE = 4L << 20;

    @TempDir
    Path dir;

    ChunkEngine engine;
    LcDefiner definer;

    @BeforeEach
    void anImage() {
        engine = ChunkEngine.open(dir);
        definer = new LcDefiner(engine);
        definer.define(List.of(new NewLc(IMAGE, null, SIZE, true)));
    }

    @AfterEach
    void close() {
        engine.close();
    }

    @Test
    void theSameBatchSentBySixteenClientsAtOnceIsCreatedOnceAndUnchangedForTheRest() throws Exception {
        List<NewLc> batch = new ArrayList<>();
        for (long lc = 100; lc < 200; lc++) {
            batch.add(new NewLc(lc, IMAGE, SIZE, false));
        }
        ExecutorService clients = Executors.newFixedThreadPool(16);
        List<Future<DefineResult>> results = new ArrayList<>();
        try {
            for (int i = 0; i < 16; i++) {
                results.add(clients.submit(() -> definer.define(batch)));
            }
            int created = 0;
            for (Future<DefineResult> result : results) {
                DefineResult answer = result.get();
                created += answer.created();
                assertThat(answer.created() + answer.unchanged()).isEqualTo(100);
            }
            assertThat(created).isEqualTo(100);
        } finally {
            clients.shutdownNow();
        }
        assertThat(engine.info(IMAGE).children()).isEqualTo(100);
    }

    @Test
    void distinctBatchesFromManyClientsAreAllCreated() throws Exception {
        ExecutorService clients = Executors.newFixedThreadPool(8);
        List<Future<DefineResult>> results = new ArrayList<>();
        try {
            for (int client = 0; client < 8; client++) {
                long first = 1_000L + client * 50L;
                results.add(clients.submit(() -> {
                    DefineResult last = null;
                    for (long lc = first; lc < first + 50; lc++) {
                        last = definer.define(List.of(new NewLc(lc, IMAGE, SIZE, false)));
                    }
                    return last;
                }));
            }
            for (Future<DefineResult> result : results) {
                assertThat(result.get().created()).isEqualTo(1);
            }
        } finally {
            clients.shutdownNow();
        }
        assertThat(engine.info(IMAGE).children()).isEqualTo(400);
    }
}
