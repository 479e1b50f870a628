package dev.sprig.node.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.nbd.server.NbdServer;
import dev.sprig.node.NodeTestDirs;
import dev.sprig.node.StorageNodeApplication;
import dev.sprig.node.access.DataAccess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * A client opens an lc's NBD export with a data token api-server signed for that lc, never with the
 * node token: the token's lc, rights and expiry hold, a forged or altered token opens nothing, and a
 * data token is no key to the node's HTTP API. Driven by real NBD clients (nbdinfo, qemu-io).
 */
@SpringBootTest(
        classes = StorageNodeApplication.class,
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "spring.config.name=" + StorageNodeApplication.CONFIG_NAME,
            "sprig.node.token=" + DataTokenIT.TOKEN,
            "sprig.node.nbd.port=0",
            "sprig.node.nbd.address=127.0.0.1"
        })
class DataTokenIT {

    static final String TOKEN = "data-token-node-token";
    static final int MIB = 1 << 20;
    static final AtomicLong IDS = new AtomicLong(100);

    @DynamicPropertySource
    static void dataDir(DynamicPropertyRegistry registry) {
        registry.add(
                "sprig.node.data-dir", () -> NodeTestDirs.fresh("data-token").toString());
    }

    @Autowired
    ChunkEngine engine;

    @Autowired
    NbdServer server;

    @LocalServerPort
    int port;

    final HttpClient http = HttpClient.newHttpClient();

    @Test
    void aReadWriteTokenOpensItsLcForReadsAndWrites() {
        long lc = lc();
        String uri = uri(ExportName.of(TOKEN, lc));

        assertThat(Tool.run("nbdinfo", "--size", uri).succeeded().output().strip())
                .isEqualTo(Long.toString(8 * MIB));
        Tool.run("qemu-io", "-f", "raw", "-c", "write -P 0x5a 0 64k", "-c", "flush", uri)
                .succeeded();
        assertThat(Tool.run("qemu-io", "-f", "raw", "-r", "-c", "read -P 0x5a 0 64k", uri)
                        .succeeded()
                        .output())
                .doesNotContain("Pattern verification failed");
    }

    @Test
    void theSameTokenNamingAnotherLcOpensNothing() {
        long mine = lc();
        long other = lc();
        String token = ExportName.token(
                TOKEN, mine, DataAccess.READ_WRITE, Instant.now().plusSeconds(3600));

        assertThat(Tool.run("nbdinfo", "--size", uri(token + "/" + mine)).exitCode())
                .isZero();
        assertThat(Tool.run("nbdinfo", "--size", uri(token + "/" + other)).exitCode())
                .as("a token for lc %d naming lc %d", mine, other)
                .isNotZero();
    }

    @Test
    void anExpiredTokenOpensNothing() {
        long lc = lc();
        String expired =
                ExportName.token(TOKEN, lc, DataAccess.READ_WRITE, Instant.now().minusSeconds(1));

        assertThat(Tool.run("nbdinfo", "--size", uri(expired + "/" + lc)).exitCode())
                .isNotZero();
    }

    @Test
    void aTamperedOrForeignTokenOpensNothing() {
        long lc = lc();
        String token =
                ExportName.token(TOKEN, lc, DataAccess.READ, Instant.now().plusSeconds(3600));
        int dot = token.indexOf('.');
        // the payload turned into a read-write grant, the MAC left alone
        String upgraded = token.substring(0, 2) + (token.charAt(2) == 'A' ? 'B' : 'A') + token.substring(3);
        String lastMacCharChanged =
                token.substring(0, token.length() - 1) + (token.charAt(token.length() - 1) == 'A' ? 'Q' : 'A');
        String otherNodes = ExportName.token(
                "another-node-token", lc, DataAccess.READ, Instant.now().plusSeconds(60));

        assertThat(dot).isPositive();
        for (String name : new String[] {
            upgraded + "/" + lc,
            lastMacCharChanged + "/" + lc,
            otherNodes + "/" + lc,
            token.substring(0, dot) + "/" + lc
        }) {
            assertThat(Tool.run("nbdinfo", "--size", uri(name)).exitCode())
                    .as(name)
                    .isNotZero();
        }
        assertThat(Tool.run("nbdinfo", "--size", uri(token + "/" + lc)).exitCode())
                .as("the untouched token still works")
                .isZero();
    }

    @Test
    void theNodeTokenNoLongerOpensExports() {
        long lc = lc();

        assertThat(Tool.run("nbdinfo", "--size", uri(TOKEN + "/" + lc)).exitCode())
                .isNotZero();
    }

    @Test
    void aReadTokenOpensAWritableLcReadOnly() {
        long lc = lc();
        engine.write(lc, 0, new byte[] {7, 7, 7, 7});
        String read = uri(ExportName.of(TOKEN, lc, DataAccess.READ, Duration.ofMinutes(5)));

        assertThat(Tool.run("nbdinfo", "--is", "read-only", read).exitCode()).isZero();
        Tool write = Tool.run("qemu-io", "-f", "raw", "-c", "write -P 1 0 4k", read);
        assertThat(write.output()).containsAnyOf("Operation not permitted", "Permission denied", "read-only");
        assertThat(Tool.run("qemu-io", "-f", "raw", "-r", "-c", "read -P 7 0 4", read)
                        .succeeded()
                        .output())
                .doesNotContain("Pattern verification failed");
        byte[] head = new byte[4];
        engine.read(lc, 0, java.nio.ByteBuffer.wrap(head));
        assertThat(head).containsExactly(7, 7, 7, 7);
    }

    @Test
    void aDataTokenIsNoKeyToTheHttpApi() throws Exception {
        long lc = lc();
        String token =
                ExportName.token(TOKEN, lc, DataAccess.READ_WRITE, Instant.now().plusSeconds(3600));

        for (String[] call : new String[][] {
            {"GET", "/v1/lcs"},
            {"GET", "/v1/lcs/" + lc},
            {"GET", "/v1/lcs/" + lc + "/data?offset=0&length=4096"},
            {"DELETE", "/v1/lcs/" + lc},
            {"POST", "/v1/lcs/" + lc + ":freeze"},
            {"GET", "/v1/node"},
            {"POST", "/v1/node:scrub"}
        }) {
            assertThat(send(call[0], call[1], token).statusCode())
                    .as(call[0] + " " + call[1])
                    .isEqualTo(401);
        }
        assertThat(engine.info(lc).frozen()).isFalse();
    }

    @Test
    void onlyTheHealthProbesAreOpen() throws Exception {
        assertThat(send("GET", "/actuator/health", null).statusCode()).isEqualTo(200);
        assertThat(send("GET", "/actuator/health/liveness", null).statusCode()).isEqualTo(200);
        assertThat(send("GET", "/actuator/health/readiness", null).statusCode()).isEqualTo(200);
        assertThat(send("GET", "/actuator/health/engine", null).statusCode()).isEqualTo(401);
        assertThat(send("GET", "/actuator/health/anything/below", null).statusCode())
                .isEqualTo(401);
    }

    private long lc() {
        long lc = IDS.incrementAndGet();
        engine.create(lc, 8 * MIB);
        return lc;
    }

    private String uri(String exportName) {
        return "nbd://127.0.0.1:" + server.port() + "/" + exportName;
    }

    private HttpResponse<String> send(String method, String path, String bearer) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .method(method, HttpRequest.BodyPublishers.noBody());
        if (bearer != null) {
            request.header("Authorization", "Bearer " + bearer);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }
}
