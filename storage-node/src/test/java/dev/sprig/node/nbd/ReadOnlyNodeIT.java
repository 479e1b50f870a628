package dev.sprig.node.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.engine.FailingFsyncEngines;
import dev.sprig.nbd.server.NbdServer;
import dev.sprig.node.StorageNodeApplication;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Primary;
import org.springframework.test.annotation.DirtiesContext;

/**
 * A node whose engine saw an fsync fail: writes and flushes answer 503 {@code READ_ONLY} over HTTP
 * and EIO over NBD, reads go on with what was acknowledged, health says OUT_OF_SERVICE, and
 * {@code sprig_node_engine_read_only} (the alert's input) goes from 0 to 1.
 */
@SpringBootTest(
        classes = {StorageNodeApplication.class, ReadOnlyNodeIT.FailingFsync.class},
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "spring.config.name=" + StorageNodeApplication.CONFIG_NAME,
            "sprig.node.token=" + ReadOnlyNodeIT.TOKEN,
            "sprig.node.nbd.port=0",
            "sprig.node.nbd.address=127.0.0.1",
            "sprig.node.data-dir=${java.io.tmpdir}/sprig-read-only-node-${random.uuid}"
        })
@DirtiesContext // its engine stays read-only
class ReadOnlyNodeIT {

    static final String TOKEN = "read-only-token";
    static final int MIB = 1 << 20;
    static final AtomicBoolean FSYNC_FAILS = new AtomicBoolean();

    /** The node's engine, but with an fsync the test can make fail. */
    @TestConfiguration(proxyBeanMethods = false)
    static class FailingFsync {
        @Bean(destroyMethod = "close")
        @Primary
        ChunkEngine failingFsyncEngine() {
            try {
                return FailingFsyncEngines.open(Files.createTempDirectory("sprig-failing-fsync"), FSYNC_FAILS);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    @Autowired
    ChunkEngine engine;

    @Autowired
    NbdServer server;

    @LocalServerPort
    int port;

    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void afterAFailedFsyncWritesAreRefusedReadsGoOnAndHealthSaysOutOfService() throws Exception {
        engine.create(1, 32L * MIB);
        Tool.run("qemu-io", "-f", "raw", "-c", "write -P 0xab 0 1M", "-c", "flush", uri(1))
                .succeeded();
        assertThat(send("GET", "/actuator/health", null).statusCode()).isEqualTo(200);
        assertThat(send("GET", "/actuator/prometheus", null).body()).contains("sprig_node_engine_read_only 0.0");

        FSYNC_FAILS.set(true);
        Tool failedFlush = Tool.run("qemu-io", "-f", "raw", "-c", "write -P 0xcd 2M 256k", "-c", "flush", uri(1));
        FSYNC_FAILS.set(false); // the engine must stay read-only although fsync works again

        assertThat(failedFlush.output()).contains("Input/output error");
        assertThat(engine.readOnlyReason())
                .hasValueSatisfying(reason -> assertThat(reason).contains("fsync"));
        assertThat(Tool.run("qemu-io", "-f", "raw", "-c", "write -P 0xef 4M 4k", uri(1))
                        .output())
                .contains("Input/output error")
                .doesNotContain("wrote");
        HttpResponse<String> httpWrite = send("PUT", "/v1/lcs/1/data?offset=" + 8 * MIB, new byte[4096]);
        assertThat(httpWrite.statusCode()).isEqualTo(503);
        assertThat(httpWrite.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertThat(httpWrite.body()).contains("\"code\":\"READ_ONLY\"");
        HttpResponse<String> define = send(
                "POST",
                "/v1/lcs:batchDefine",
                "{\"lcs\":[{\"lcId\":2,\"sizeBytes\":1048576,\"frozen\":false}]}".getBytes());
        assertThat(define.statusCode()).as(define.body()).isEqualTo(503);
        assertThat(engine.list()).hasSize(1);

        assertThat(Tool.run("qemu-io", "-f", "raw", "-r", "-c", "read -P 0xab 0 1M", uri(1))
                        .succeeded()
                        .output())
                .doesNotContain("Pattern verification failed");
        assertThat(send("GET", "/v1/lcs/1/data?offset=0&length=4096", null).statusCode())
                .isEqualTo(200);
        HttpResponse<String> health = send("GET", "/actuator/health", null);
        assertThat(health.statusCode()).isEqualTo(503);
        assertThat(health.body()).contains("OUT_OF_SERVICE");
        assertThat(send("GET", "/actuator/prometheus", null).body()).contains("sprig_node_engine_read_only 1.0");
    }

    private HttpResponse<String> send(String method, String path, byte[] body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Authorization", "Bearer " + TOKEN);
        if (body != null) {
            request.header("Content-Type", path.contains("/data") ? "application/octet-stream" : "application/json");
        }
        request.method(
                method,
                body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private String uri(long lc) {
        return "nbd://127.0.0.1:" + server.port() + "/" + ExportName.of(TOKEN, lc);
    }
}
