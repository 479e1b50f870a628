package dev.sprig.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Import;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * Issue 17: cancelling an import stops it, not only its result. The import below runs through
 * qemu-nbd with every write slowed down; once cancelled, its work stops at its next progress step,
 * qemu-nbd is ended and no helper process of api-server is left running.
 */
@Import(GatedBackend.Installed.class)
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "sprig.api.api-keys=" + ImportCancelIT.KEY)
class ImportCancelIT {

    static final String KEY = "import-cancel-key-0123456789";
    static final int MIB = 1 << 20;
    /** 64 PCs, one slowed write each, by 4 readers: 8 s uncancelled. */
    static final int SIZE = 256 * MIB;

    static final Duration WRITE_DELAY = Duration.ofMillis(500);

    static Path sources;

    @DynamicPropertySource
    static void dataDirsAndSources(DynamicPropertyRegistry registry) {
        TestDataDirs.isolate(registry, "import-cancel");
        sources = TestDataDirs.fresh("import-cancel-sources");
        registry.add(
                "sprig.api.image-sources.allowed-prefixes",
                () -> sources.toUri().toString());
    }

    @LocalServerPort
    int port;

    @Autowired
    GatedBackend backend;

    @AfterEach
    void fullSpeed() {
        backend.reset();
    }

    @Test
    void aCancelledImportStopsItsCopyAndLeavesNoHelperProcessRunning() throws Exception {
        ApiClient api = new ApiClient(port, KEY);
        byte[] content = new byte[SIZE];
        Arrays.fill(content, (byte) 0x5a);
        Path raw = Files.write(sources.resolve("slow.raw"), content);
        backend.slowImports(WRITE_DELAY);

        HttpResponse<String> started = api.post(
                "/v1/images",
                "{\"name\":\"" + ImageAndDiskApiIT.unique("slow") + "\",\"source\":{\"url\":\"" + raw.toUri() + "\"}}");
        assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
        String image = ApiClient.id(ApiClient.json(started));
        String operation = ApiClient.json(started).path("operationId").asString();
        awaitUntil(() -> backend.writesStarted() > 0, "the copy's first write");
        assertThat(helpers()).as("qemu-nbd serves the image meanwhile").anyMatch(c -> c.contains("qemu-nbd"));

        double cancelledImports = api.gauge("sprig_operations_ended_total", "kind=\"import\"", "outcome=\"cancelled\"");
        double failedImports = api.gauge("sprig_operations_ended_total", "kind=\"import\"", "outcome=\"failed\"");
        long cancelledAt = System.nanoTime();
        HttpResponse<String> cancelled = api.action("/v1/operations/" + operation + ":cancel");

        assertThat(cancelled.statusCode()).as(cancelled.body()).isEqualTo(200);
        assertThat(ApiClient.json(cancelled).path("state").asString()).isEqualTo("failed");
        assertThat(ApiClient.json(cancelled).path("errorCode").asString()).isEqualTo("CANCELLED");
        awaitUntil(() -> helpers().isEmpty(), "no qemu-nbd or qemu-img left running");
        long stoppedAfter = (System.nanoTime() - cancelledAt) / 1_000_000;
        long writes = backend.writesStarted();
        long written = backend.bytesWritten();
        Thread.sleep(2 * WRITE_DELAY.toMillis());

        assertThat(stoppedAfter)
                .as("ms from the cancel until qemu-nbd was gone: the writes in flight, then the stop")
                .isLessThan(WRITE_DELAY.toMillis() + 2_500);
        assertThat(backend.writesStarted()).as("writes after the copy stopped").isEqualTo(writes);
        assertThat(written)
                .as("bytes written of " + SIZE + ": the copy stopped midway")
                .isLessThan(SIZE / 2);
        JsonNode view = ApiClient.json(api.get("/v1/images/" + image));
        assertThat(view.path("state").asString()).isEqualTo("error");
        assertThat(view.path("error").asString()).contains("cancelled");
        assertThat(view.path("lcId").isNull()).isTrue();
        assertThat(ApiClient.json(api.get("/v1/operations/" + operation))
                        .path("errorCode")
                        .asString())
                .isEqualTo("CANCELLED");
        assertThat(api.gauge("sprig_operations_ended_total", "kind=\"import\"", "outcome=\"cancelled\""))
                .as("counted once, as cancelled")
                .isEqualTo(cancelledImports + 1);
        assertThat(api.gauge("sprig_operations_ended_total", "kind=\"import\"", "outcome=\"failed\""))
                .isEqualTo(failedImports);

        backend.reset();
        String another = api.availableImage(new byte[MIB]);
        assertThat(ApiClient.json(api.get("/v1/images/" + another))
                        .path("state")
                        .asString())
                .as("api-server keeps serving")
                .isEqualTo("available");
    }

    /** The command lines of the helper processes (qemu-nbd, qemu-img) api-server runs now. */
    static List<String> helpers() {
        return ProcessHandle.current()
                .descendants()
                .filter(ProcessHandle::isAlive)
                .map(child ->
                        child.info().commandLine().orElse(child.info().command().orElse("")))
                .filter(command -> command.contains("qemu-nbd") || command.contains("qemu-img"))
                .toList();
    }

    private static void awaitUntil(java.util.function.BooleanSupplier condition, String what)
            throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }
}
