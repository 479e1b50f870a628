package dev.sprig.node.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.nbd.server.NbdServer;
import dev.sprig.node.NodeTestDirs;
import dev.sprig.node.StorageNodeApplication;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * fio writing 4 KiB blocks over NBD with a flush after every write keeps the node's journal near
 * its configured bound ({@code sprig.node.engine.checkpoint-journal-size}, 64 KiB here): the
 * engine checkpoints in the background, and a flush that finds the journal at twice its bound
 * waits for that checkpoint.
 */
@SpringBootTest(
        classes = StorageNodeApplication.class,
        webEnvironment = SpringBootTest.WebEnvironment.NONE,
        properties = {
            "spring.config.name=" + StorageNodeApplication.CONFIG_NAME,
            "sprig.node.token=" + NbdJournalBoundIT.TOKEN,
            "sprig.node.nbd.port=0",
            "sprig.node.nbd.address=127.0.0.1",
            "sprig.node.engine.checkpoint-journal-size=64KB"
        })
class NbdJournalBoundIT {

    static final String TOKEN = "journal-token";
    static final long BOUND = 64 << 10;
    static final int MIB = 1 << 20;
    static Path dataDir;

    @DynamicPropertySource
    static void dataDir(DynamicPropertyRegistry registry) {
        dataDir = NodeTestDirs.fresh("nbd-journal");
        registry.add("sprig.node.data-dir", dataDir::toString);
    }

    @Autowired
    ChunkEngine engine;

    @Autowired
    NbdServer server;

    @Test
    void sustainedNbdWritesWithFlushesKeepTheJournalUnderTwiceItsBound() throws Exception {
        engine.create(1, 32 * MIB);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong largest = new AtomicLong();
        AtomicLong appended = new AtomicLong();
        Thread sampler = new Thread(() -> {
            long before = 0;
            while (!stop.get()) {
                long now = engine.stats().journalBytes();
                largest.accumulateAndGet(now, Math::max);
                appended.addAndGet(now < before ? now : now - before);
                before = now;
                Thread.onSpinWait();
            }
        });
        sampler.start();
        try {
            Tool.run(
                            "fio",
                            "--name=journal",
                            "--ioengine=nbd",
                            "--uri=nbd://127.0.0.1:" + server.port() + "/" + ExportName.of(TOKEN, 1),
                            "--rw=randwrite",
                            "--bs=4k",
                            "--iodepth=1",
                            "--fsync=1",
                            "--size=" + 32 * MIB,
                            "--io_size=" + 12 * MIB)
                    .succeeded();
        } finally {
            stop.set(true);
            sampler.join();
        }

        assertThat(appended.get()).as("journal traffic of the run").isGreaterThan(8 * BOUND);
        assertThat(largest.get()).as("largest journal seen").isLessThanOrEqualTo(2 * BOUND + 4096);
    }
}
