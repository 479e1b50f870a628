package dev.sprig.api;

import static dev.sprig.api.ImageAndDiskApiIT.assertProblem;
import static dev.sprig.api.ImageAndDiskApiIT.imageContent;
import static dev.sprig.api.ImageAndDiskApiIT.unique;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.operation.OperationRunner;
import dev.sprig.engine.ChunkEngine;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * Importing an image from a source ({@code POST /v1/images} with {@code source.url}): the import is
 * an operation; a qcow2 arrives as the bytes qemu-img reads from it, sparse; a source that cannot be
 * read leaves the image in error, saying why, and no lc behind.
 */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = "sprig.api.api-keys=" + ImageImportIT.KEY)
class ImageImportIT {

    static final String KEY = "import-key-0123456789";
    static final int MIB = 1 << 20;

    /** Where file: sources live; the only file: prefix the tests allow. */
    static Path sources;

    static HttpServer http;
    static final CountDownLatch trickleStarted = new CountDownLatch(1);
    static final CountDownLatch trickleAbandoned = new CountDownLatch(1);
    static byte[] served = imageContent(3 * MIB);

    @DynamicPropertySource
    static void dataDirsAndSources(DynamicPropertyRegistry registry) {
        TestDataDirs.isolate(registry, "image-import");
        sources = TestDataDirs.fresh("image-import-sources");
        registry.add("sprig.api.image-sources.allowed-prefixes", () -> "http:," + sources.toUri());
        registry.add("sprig.api.image-sources.stall-timeout", () -> "2s");
        // the test image store is on loopback, which sources may reach only when listed
        registry.add("sprig.api.image-sources.allowed-private-hosts", () -> "127.0.0.1");
    }

    @BeforeAll
    static void anImageStoreOverHttp() throws IOException {
        http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        http.createContext("/image.raw", exchange -> answer(exchange, 200, served, served.length));
        http.createContext("/missing.raw", exchange -> answer(exchange, 404, new byte[0], -1));
        http.createContext("/truncated.raw", exchange -> answer(exchange, 200, served, served.length / 2));
        http.createContext("/stalled.raw", exchange -> {
            // half the body, then nothing, the connection held open (longer than the stall timeout)
            exchange.sendResponseHeaders(200, served.length);
            exchange.getResponseBody().write(served, 0, served.length / 2);
            exchange.getResponseBody().flush();
            try {
                Thread.sleep(8_000);
            } catch (InterruptedException stopping) {
                Thread.currentThread().interrupt();
            }
            exchange.close();
        });
        http.createContext("/trickle.raw", exchange -> {
            // 4 KiB every 100 ms: minutes for the whole body, yet never stalled
            exchange.sendResponseHeaders(200, served.length);
            trickleStarted.countDown();
            try (OutputStream out = exchange.getResponseBody()) {
                for (int at = 0; at < served.length; at += 4096) {
                    out.write(served, at, 4096);
                    out.flush();
                    Thread.sleep(100);
                }
            } catch (IOException abandoned) {
                trickleAbandoned.countDown();
            } catch (InterruptedException stopping) {
                Thread.currentThread().interrupt();
            }
        });
        http.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        http.start();
    }

    @AfterAll
    static void stopTheImageStore() {
        http.stop(0);
    }

    /** Declares all of {@code body} but sends only its first {@code send} bytes, then hangs up. */
    private static void answer(HttpExchange exchange, int status, byte[] body, int send) throws IOException {
        exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        if (body.length > 0) {
            OutputStream out = exchange.getResponseBody();
            out.write(body, 0, send);
            out.flush();
        }
        exchange.close();
    }

    @LocalServerPort
    int port;

    @Autowired
    ChunkEngine engine;

    @Autowired
    JdbcTemplate jdbc;

    @Autowired
    StorageBackend backend;

    @Autowired
    OperationRunner runner;

    ApiClient api;

    @BeforeEach
    void client() {
        api = new ApiClient(port, KEY);
    }

    @Test
    void aQcow2ImportsAsTheBytesQemuImgReadsFromItAndStaysSparse() throws Exception {
        int size = 6 * MIB + 100 * 1024;
        byte[] raw = new byte[size];
        Random random = new Random(9);
        byte[] mib = new byte[MIB];
        random.nextBytes(mib);
        System.arraycopy(mib, 0, raw, MIB, MIB);
        random.nextBytes(mib);
        System.arraycopy(mib, 0, raw, 4 * MIB, MIB);
        System.arraycopy(mib, 0, raw, size - 4096, 4096);
        Path original = Files.write(sources.resolve("original.raw"), raw);
        Path qcow2 = sources.resolve("image.qcow2");
        run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", original.toString(), qcow2.toString());
        Path asQemuReadsIt = sources.resolve("image.qcow2.raw");
        run("qemu-img", "convert", "-f", "qcow2", "-O", "raw", qcow2.toString(), asQemuReadsIt.toString());
        byte[] expected = Files.readAllBytes(asQemuReadsIt);

        JsonNode image = importImage("{\"name\":\"" + unique("qcow2") + "\",\"source\":{\"url\":\"" + qcow2.toUri()
                + "\"},\"format\":\"qcow2\"}");

        assertThat(image.path("state").asString()).isEqualTo("available");
        assertThat(image.path("sizeBytes").asLong()).isEqualTo(expected.length);
        assertThat(image.path("source").path("format").asString()).isEqualTo("qcow2");
        long lc = image.path("lcId").asLong();
        assertThat(engine.info(lc).frozen()).isTrue();
        assertThat(engine.read(lc, 0, expected.length)).isEqualTo(expected);
        assertThat(engine.stats(lc).bytesStored())
                .as("two data MiBs and one short tail segment, nothing for the zeros")
                .isLessThanOrEqualTo(2L * MIB + ChunkEngine.SEGMENT_SIZE);
    }

    @Test
    void aRawImageOverHttpWithTheRightSha256ImportsAndItsProgressReachesTheTotal() throws Exception {
        String sha256 =
                HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(served));
        HttpResponse<String> started = api.post(
                "/v1/images",
                "{\"name\":\"" + unique("http") + "\",\"source\":{\"url\":\"" + url("/image.raw") + "\"},\"sha256\":\""
                        + sha256 + "\"}");

        assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
        JsonNode accepted = ApiClient.json(started);
        assertThat(accepted.path("state").asString()).isEqualTo("importing");
        assertThat(accepted.path("sizeBytes").isNull()).isTrue();
        assertThat(accepted.path("source").path("url").asString()).isEqualTo(url("/image.raw"));
        assertThat(accepted.path("source").path("format").asString()).isEqualTo("raw");
        assertThat(accepted.path("source").path("sha256").asString()).isEqualTo(sha256);
        String operationId = accepted.path("operationId").asString();
        assertThat(started.headers().firstValue("Location")).hasValue("/v1/operations/" + operationId);
        JsonNode operation = api.awaitFinished(operationId);
        assertThat(operation.path("state").asString()).as(operation.toString()).isEqualTo("succeeded");
        // the listing finds it by the URL it came from (and a URL nothing came from finds nothing)
        JsonNode bySource = ApiClient.json(api.get("/v1/images?sourceUrl="
                + java.net.URLEncoder.encode(url("/image.raw"), java.nio.charset.StandardCharsets.UTF_8)));
        assertThat(bySource.path("items").findValuesAsString("externId"))
                .contains(accepted.path("externId").asString());
        assertThat(bySource.path("items").findValuesAsString("url")).containsOnly(url("/image.raw"));
        assertThat(ApiClient.json(api.get("/v1/images?sourceUrl=file:/nowhere")).path("items"))
                .isEmpty();
        assertThat(operation.path("kind").asString()).isEqualTo("import");
        assertThat(operation.path("unit").asString()).isEqualTo("bytes");
        assertThat(operation.path("total").asLong()).isEqualTo(served.length);
        assertThat(operation.path("done").asLong()).isEqualTo(served.length);

        JsonNode image = ApiClient.json(api.get("/v1/images/" + ApiClient.id(accepted)));
        assertThat(image.path("state").asString()).isEqualTo("available");
        assertThat(image.path("bytesReceived").asLong()).isEqualTo(served.length);
        assertThat(engine.read(image.path("lcId").asLong(), 0, served.length)).isEqualTo(served);
        JsonNode disk = api.clone(ApiClient.id(image));
        assertThat(engine.read(disk.path("lcId").asLong(), 0, served.length)).isEqualTo(served);
    }

    @Test
    void anImportCutOffByACrashStartsOverWhenResumed() {
        // what a crash in the middle of a copy leaves: a running import, and an lc with part of the image
        String imageId = "img-" + suffix();
        String operationId = "op-" + suffix();
        long stale = jdbc.queryForObject("SELECT nextval('lc_id_seq')", Long.class);
        jdbc.update("INSERT INTO lc (lc_id, family_id, size_bytes) VALUES (?, ?, ?)", stale, stale, served.length);
        backend.define(List.of(new StorageBackend.LcSpec(stale, null, stale, served.length, false)));
        backend.write(
                stale,
                0,
                java.nio.ByteBuffer.wrap(new byte[ChunkEngine.SEGMENT_SIZE]).put(0, (byte) 7));
        jdbc.update(
                "INSERT INTO resource (extern_id, kind, name, size_bytes, state, lc_id)"
                        + " VALUES (?, 'image', ?, ?, 'importing', ?)",
                imageId,
                unique("cut-off"),
                served.length,
                stale);
        jdbc.update(
                "INSERT INTO image_source (extern_id, url, format) VALUES (?, ?, 'raw')", imageId, url("/image.raw"));
        jdbc.update(
                "INSERT INTO operation (operation_id, kind, target_extern_id, state, total)"
                        + " VALUES (?, 'import', ?, 'running', 0)",
                operationId,
                imageId);

        runner.resumeRunning();

        assertThat(api.awaitFinished(operationId).path("state").asString()).isEqualTo("succeeded");
        JsonNode image = ApiClient.json(api.get("/v1/images/" + imageId));
        long lc = image.path("lcId").asLong();
        assertThat(lc).isNotEqualTo(stale);
        assertThat(engine.read(lc, 0, served.length)).isEqualTo(served);
        assertThat(engineLcs()).doesNotContain(stale);
        assertThat(jdbc.queryForObject("SELECT count(*) FROM lc WHERE lc_id = ?", Long.class, stale))
                .isZero();
    }

    private static String suffix() {
        return UUID.randomUUID().toString().replace("-", "").substring(0, 16);
    }

    @Test
    void aSourceThatAnswers404LeavesTheImageInErrorAndNoLc() {
        assertImportFails(httpSource("/missing.raw", ""), "the source failed: it answered 4xx");
    }

    @Test
    void anUnreachableSourceLeavesTheImageInErrorAndNoLc() throws IOException {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }
        assertImportFails(
                "{\"name\":\"" + unique("gone") + "\",\"source\":{\"url\":\"http://127.0.0.1:" + closedPort
                        + "/image.raw\"}}",
                "the source failed: no answer from 127.0.0.1");
    }

    @Test
    void aTruncatedBodyLeavesTheImageInErrorAndNoLc() {
        // how much of the half that was sent arrives before the hang-up is up to the network stack
        String error = assertImportFails(httpSource("/truncated.raw", ""), "the source ended after ");

        assertThat(error).matches("the source ended after \\d+ of " + served.length + " bytes");
        assertThat(Long.parseLong(error.split(" ")[4])).isLessThanOrEqualTo(served.length / 2);
    }

    @Test
    void aDownloadThatStopsSendingFailsAfterTheStallTimeoutAndLeavesNoLc() {
        String error = assertImportFails(httpSource("/stalled.raw", ""), "the source sent nothing for 2 s after ");

        assertThat(error).endsWith(" bytes");
    }

    @Test
    void aSha256MismatchLeavesTheImageInErrorAndNoLc() {
        String wrong = "0".repeat(64);
        assertImportFails(
                httpSource("/image.raw", ",\"sha256\":\"" + wrong + "\""),
                "sha256 mismatch: expected " + wrong + ", got ");
    }

    @Test
    void aRawFileDeclaredAsQcow2LeavesTheImageInErrorAndNoLc() throws IOException {
        Path raw = Files.write(sources.resolve("not-a.qcow2"), imageContent(MIB));
        assertImportFails(
                "{\"name\":\"" + unique("fake") + "\",\"source\":{\"url\":\"" + raw.toUri()
                        + "\"},\"format\":\"qcow2\"}",
                "not in qcow2 format");
    }

    @Test
    void aQcow2ThatNamesABackingFileIsRefusedSoThatNoOtherFileOfThisMachineIsRead() throws Exception {
        Path outside = Files.createTempDirectory("sprig-not-a-source");
        Path base = Files.write(outside.resolve("secret.raw"), imageContent(MIB));
        Path overlay = sources.resolve("overlay.qcow2");
        run("qemu-img", "create", "-f", "qcow2", "-b", base.toString(), "-F", "raw", overlay.toString());

        String error = assertImportFails(
                "{\"name\":\"" + unique("overlay") + "\",\"source\":{\"url\":\"" + overlay.toUri()
                        + "\"},\"format\":\"qcow2\"}",
                "the image names a backing file (" + base + ")");

        assertThat(error).endsWith("only self-contained images can be imported");
    }

    @Test
    void aQcow2ThatKeepsItsDataInAnExternalFileIsRefused() throws Exception {
        Path outside = Files.createTempDirectory("sprig-not-a-source");
        Path data = outside.resolve("secret.data");
        Path qcow2 = sources.resolve("external.qcow2");
        run("qemu-img", "create", "-f", "qcow2", "-o", "data_file=" + data, qcow2.toString(), "4M");

        assertImportFails(
                "{\"name\":\"" + unique("external") + "\",\"source\":{\"url\":\"" + qcow2.toUri()
                        + "\"},\"format\":\"qcow2\"}",
                "the image keeps its data in an external file (" + data + ")");
    }

    @Test
    void aCorruptQcow2FailsWithQemuImgChecksWordsAndLeavesNoStagingFile() throws Exception {
        Path original = Files.write(sources.resolve("to-corrupt.raw"), imageContent(2 * MIB));
        Path qcow2 = sources.resolve("corrupt.qcow2");
        run("qemu-img", "convert", "-f", "raw", "-O", "qcow2", original.toString(), qcow2.toString());
        try (java.nio.channels.FileChannel file = java.nio.channels.FileChannel.open(
                qcow2, java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
            // the header's L1 table offset (bytes 40..47); its first entry now names an unaligned L2 table
            java.nio.ByteBuffer header = java.nio.ByteBuffer.allocate(48);
            file.read(header, 0);
            long l1 = header.getLong(40);
            file.write(java.nio.ByteBuffer.allocate(8).putLong(0, (1L << 63) | 0x10200), l1);
        }

        String error = assertImportFails(
                "{\"name\":\"" + unique("corrupt") + "\",\"source\":{\"url\":\"" + qcow2.toUri()
                        + "\"},\"format\":\"qcow2\"}",
                "qemu-img check found the image corrupt");

        assertThat(error).contains("Table is not cluster aligned");

        try (var files = Files.list(engine.stagingFile(0).getParent())) {
            assertThat(files.map(Path::toString)).noneMatch(name -> name.endsWith(".staging"));
        }
    }

    /** Issue 17: cancelling an import stops its download, not only its result. */
    @Test
    void aCancelledDownloadStopsReadingTheSource() throws Exception {
        HttpResponse<String> started = api.post("/v1/images", httpSource("/trickle.raw", ""));
        assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
        String image = ApiClient.id(ApiClient.json(started));
        String operation = ApiClient.json(started).path("operationId").asString();
        assertThat(trickleStarted.await(30, TimeUnit.SECONDS))
                .as("the download began")
                .isTrue();

        HttpResponse<String> cancelled = api.action("/v1/operations/" + operation + ":cancel");

        assertThat(cancelled.statusCode()).as(cancelled.body()).isEqualTo(200);
        assertThat(ApiClient.json(cancelled).path("errorCode").asString()).isEqualTo("CANCELLED");
        assertThat(trickleAbandoned.await(5, TimeUnit.SECONDS))
                .as("the source saw the download end within seconds, not minutes")
                .isTrue();
        JsonNode view = ApiClient.json(api.get("/v1/images/" + image));
        assertThat(view.path("state").asString()).isEqualTo("error");
        assertThat(view.path("lcId").isNull()).isTrue();
    }

    /**
     * qemu-img reads a raw file whose length is not whole sectors as the file padded with zeros to
     * the next sector, so the size rule holds for every learned size (it is checked all the same).
     */
    @Test
    void aRawSourceWhoseLengthIsNotWholeSectorsImportsPaddedWithZerosToTheNextSector() throws IOException {
        byte[] content = imageContent(MIB + 100);
        Path raw = Files.write(sources.resolve("odd.raw"), content);

        JsonNode image =
                importImage("{\"name\":\"" + unique("odd") + "\",\"source\":{\"url\":\"" + raw.toUri() + "\"}}");

        assertThat(image.path("state").asString()).as(image.toString()).isEqualTo("available");
        assertThat(image.path("sizeBytes").asLong()).isEqualTo(MIB + 512);
        byte[] expected = Arrays.copyOf(content, MIB + 512);
        assertThat(engine.read(image.path("lcId").asLong(), 0, MIB + 512)).isEqualTo(expected);
    }

    @Test
    void aSourceDeclaringMoreThan64TiBFailsNamingTheSizeRule() throws Exception {
        Path qcow2 = sources.resolve("over.qcow2");
        long over = (64L << 40) + 512;
        run("qemu-img", "create", "-f", "qcow2", qcow2.toString(), Long.toString(over));

        String error = assertImportFails(
                "{\"name\":\"" + unique("over") + "\",\"source\":{\"url\":\"" + qcow2.toUri()
                        + "\"},\"format\":\"qcow2\"}",
                "the image's size as qemu-img reads it is refused");

        assertThat(error).contains("its virtual size is " + over + "; it must be a multiple of 512 between 512 and");
    }

    @Test
    void aMissingFileIsRefusedAndCreatesNothing() {
        long images = imageRows();
        HttpResponse<String> refused = api.post(
                "/v1/images",
                "{\"name\":\"" + unique("nofile") + "\",\"source\":{\"url\":\""
                        + sources.resolve("absent.raw").toUri() + "\"}}");

        assertProblem(refused, 400, "INVALID_ARGUMENT");
        assertThat(ApiClient.json(refused).path("detail").asString())
                .contains("names no readable regular file inside the allowed directories");
        assertThat(imageRows()).isEqualTo(images);
    }

    @Test
    void aSchemeOutsideTheAllowedPrefixesIsRefusedAndCreatesNothing() {
        long images = imageRows();
        HttpResponse<String> refused = api.post(
                "/v1/images", "{\"name\":\"" + unique("ftp") + "\",\"source\":{\"url\":\"ftp://127.0.0.1/x.raw\"}}");

        assertProblem(refused, 400, "INVALID_ARGUMENT");
        assertThat(ApiClient.json(refused).path("detail").asString())
                .contains("http:", sources.toUri().toString());
        assertThat(imageRows()).isEqualTo(images);
    }

    @Test
    void aFileOutsideTheAllowedPrefixesIsRefusedAndCreatesNothing() {
        long images = imageRows();
        HttpResponse<String> refused = api.post(
                "/v1/images", "{\"name\":\"" + unique("etc") + "\",\"source\":{\"url\":\"file:///etc/hostname\"}}");

        assertProblem(refused, 400, "INVALID_ARGUMENT");
        assertThat(imageRows()).isEqualTo(images);
    }

    @Test
    void aSourceWithASizeIsRefused() {
        HttpResponse<String> refused = api.post(
                "/v1/images",
                "{\"name\":\"" + unique("sized") + "\",\"sizeBytes\":1048576,\"source\":{\"url\":\"" + url("/image.raw")
                        + "\"}}");

        assertProblem(refused, 400, "INVALID_ARGUMENT");
    }

    @Test
    void anImageFromASourceTakesNoUpload() {
        JsonNode image = importImage(httpSource("/image.raw", ""));

        assertProblem(api.put("/v1/images/" + ApiClient.id(image) + "/file", served), 409, "INVALID_STATE");
    }

    private String httpSource(String path, String extra) {
        return "{\"name\":\"" + unique("src") + "\",\"source\":{\"url\":\"" + url(path) + "\"}" + extra + "}";
    }

    private static String url(String path) {
        return "http://127.0.0.1:" + http.getAddress().getPort() + path;
    }

    /** Starts an import, waits for it and returns the image as it is then. */
    private JsonNode importImage(String body) {
        HttpResponse<String> started = api.post("/v1/images", body);
        assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
        JsonNode accepted = ApiClient.json(started);
        api.awaitFinished(accepted.path("operationId").asString());
        return ApiClient.json(api.get("/v1/images/" + ApiClient.id(accepted)));
    }

    /** Starts an import that must fail with {@code cause}; returns the operation's error. */
    private String assertImportFails(String body, String cause) {
        long lcRows = lcRows();
        List<Long> engineLcs = engineLcs();
        HttpResponse<String> started = api.post("/v1/images", body);
        assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
        JsonNode accepted = ApiClient.json(started);

        JsonNode operation = api.awaitFinished(accepted.path("operationId").asString());

        assertThat(operation.path("state").asString()).isEqualTo("failed");
        assertThat(operation.path("error").asString()).contains(cause);
        JsonNode image = ApiClient.json(api.get("/v1/images/" + ApiClient.id(accepted)));
        assertThat(image.path("state").asString()).isEqualTo("error");
        assertThat(image.path("error").asString()).contains(cause);
        assertThat(image.path("lcId").isNull()).as("the image has no lc").isTrue();
        assertThat(lcRows()).as("lc rows").isEqualTo(lcRows);
        assertThat(engineLcs()).as("the engine's lcs").isEqualTo(engineLcs);
        return operation.path("error").asString();
    }

    private long lcRows() {
        return jdbc.queryForObject("SELECT count(*) FROM lc", Long.class);
    }

    private long imageRows() {
        return jdbc.queryForObject("SELECT count(*) FROM resource WHERE kind = 'image'", Long.class);
    }

    private List<Long> engineLcs() {
        return engine.list().stream().map(info -> info.lcId()).sorted().toList();
    }

    private static void run(String... command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        if (process.waitFor() != 0) {
            throw new UncheckedIOException(new IOException(String.join(" ", command) + " failed: " + output));
        }
    }
}
