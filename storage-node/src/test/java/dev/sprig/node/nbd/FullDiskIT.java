package dev.sprig.node.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.engine.SmallFileSystem;
import dev.sprig.nbd.server.NbdServer;
import dev.sprig.node.StorageNodeApplication;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * A node whose data directory is on a real 64 MiB file system that fills up, driven with qemu-io
 * over NBD and with plain HTTP: writes fail with ENOSPC and 507 {@code NO_SPACE}, what was
 * acknowledged reads back, and writes succeed again once space is freed.
 */
@SpringBootTest(
        classes = StorageNodeApplication.class,
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "spring.config.name=" + StorageNodeApplication.CONFIG_NAME,
            "sprig.node.token=" + FullDiskIT.TOKEN,
            "sprig.node.nbd.port=0",
            "sprig.node.nbd.address=127.0.0.1"
        })
@DirtiesContext // its engine lives on a file system this class unmounts
class FullDiskIT {

    static final String TOKEN = "full-disk-token";
    static final int MIB = 1 << 20;
    static SmallFileSystem disk;
    static ChunkEngine opened;

    @BeforeAll
    static void mount() throws IOException {
        disk = SmallFileSystem.mount(Files.createTempDirectory("sprig-full-disk"), 64);
    }

    /** Closes the engine first: after a lazy unmount its paths would lead to the directory below. */
    @AfterAll
    static void unmount() {
        if (opened != null) {
            opened.close();
        }
        if (disk != null) {
            disk.close();
        }
    }

    @DynamicPropertySource
    static void dataDir(DynamicPropertyRegistry registry) {
        registry.add("sprig.node.data-dir", () -> disk.path().resolve("node").toString());
    }

    @Autowired
    ChunkEngine engine;

    @Autowired
    NbdServer server;

    @LocalServerPort
    int port;

    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void writesAnswerEnospcAnd507WhileTheDiskIsFullAndSucceedOnceSpaceIsFreed() throws Exception {
        opened = engine;
        engine.create(1, 32L * MIB);
        Tool.run("qemu-io", "-f", "raw", "-c", "write -P 0xab 0 1M", "-c", "flush", uri(1))
                .succeeded();
        disk.fill();

        Tool nbdWrite = Tool.run("qemu-io", "-f", "raw", "-c", "write -P 0xcd 8M 256k", uri(1));
        HttpResponse<String> httpWrite = put(1, 16 * MIB, new byte[256 << 10]);

        assertThat(nbdWrite.output()).contains("No space left on device").doesNotContain("wrote");
        assertThat(httpWrite.statusCode()).isEqualTo(507);
        assertThat(httpWrite.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertThat(httpWrite.body()).contains("\"code\":\"NO_SPACE\"");
        assertThat(Tool.run("qemu-io", "-f", "raw", "-r", "-c", "read -P 0xab 0 1M", uri(1))
                        .succeeded()
                        .output())
                .doesNotContain("Pattern verification failed");

        disk.free();
        Tool.run("qemu-io", "-f", "raw", "-c", "write -P 0xcd 8M 256k", "-c", "flush", uri(1))
                .succeeded();
        byte[] ones = new byte[256 << 10];
        Arrays.fill(ones, (byte) 1);
        assertThat(put(1, 16 * MIB, ones).statusCode()).isBetween(200, 299);
        assertThat(engine.read(1, 8 * MIB, 256 << 10)).containsOnly((byte) 0xcd);
        assertThat(engine.read(1, 16 * MIB, 256 << 10)).isEqualTo(ones);
        assertThat(engine.read(1, 0, MIB)).containsOnly((byte) 0xab);
    }

    private HttpResponse<String> put(long lc, long offset, byte[] body) throws Exception {
        return http.send(
                HttpRequest.newBuilder(
                                URI.create("http://127.0.0.1:" + port + "/v1/lcs/" + lc + "/data?offset=" + offset))
                        .header("Authorization", "Bearer " + TOKEN)
                        .header("Content-Type", "application/octet-stream")
                        .PUT(HttpRequest.BodyPublishers.ofByteArray(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private String uri(long lc) {
        return "nbd://127.0.0.1:" + server.port() + "/" + ExportName.of(TOKEN, lc);
    }
}
