package dev.sprig.api;

import static dev.sprig.api.ImageAndDiskApiIT.assertProblem;
import static dev.sprig.api.ImageAndDiskApiIT.imageContent;
import static dev.sprig.api.ImageAndDiskApiIT.unique;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.sprig.api.operation.OperationRunner;
import dev.sprig.engine.ChunkEngine;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
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
 * What an image source may be, tried as a client who wants another file of the server, an internal
 * service, or the import workers' time would try: {@code file:} sources are judged by their real
 * path, http(s) sources and each of their redirects by their parsed URL and the addresses their host
 * resolves to, errors say nothing of what an internal host answered, a corrupt qcow2 fails with
 * qemu-img check's words, and sizes are bounded while an import's cost follows its data.
 */
@SpringBootTest(
        webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
            "sprig.api.api-keys=" + ImageSourceRulesIT.KEY,
            "sprig.api.image-sources.stall-timeout=2s",
            "sprig.api.image-sources.allowed-private-hosts=127.0.0.1",
            "sprig.api.image-sources.max-virtual-size=2TB",
            "sprig.api.image-sources.max-download-size=8MB",
        })
class ImageSourceRulesIT {

    static final String KEY = "source-rules-key-0123456789";
    static final int MIB = 1 << 20;

    /** The allowed file: directory. */
    static Path files;
    /** Files the tests must never import: beside the allowed directory, not in it. */
    static Path outside;

    static Path dataDir;

    /** The image store on 127.0.0.1 (listed as allowed), whose /public/ is the allowed prefix. */
    static HttpServer store;
    /** A service on 127.0.0.2: allowed by a prefix, but loopback and not listed. */
    static HttpServer internal;
    /** A port of 127.0.0.1 nothing listens on, allowed by a prefix. */
    static int closedPort;

    static final byte[] served = imageContent(MIB);
    static final byte[] secret = imageContent(MIB / 2);
    static final Map<String, AtomicInteger> hits = new ConcurrentHashMap<>();

    @DynamicPropertySource
    static void sourcesAndServers(DynamicPropertyRegistry registry) throws IOException {
        dataDir = TestDataDirs.isolate(registry, "image-source-rules");
        files = TestDataDirs.fresh("image-source-rules-files");
        outside = TestDataDirs.fresh("image-source-rules-outside");
        Files.write(outside.resolve("secret.raw"), secret);
        store = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        store.createContext("/public/image.raw", exchange -> send(exchange, 200, served));
        store.createContext("/public/to-public", exchange -> redirect(exchange, 307, "/public/image.raw"));
        store.createContext("/public/to-internal", exchange -> redirect(exchange, 302, "/internal/secret.raw"));
        store.createContext("/internal/secret.raw", exchange -> send(exchange, 200, secret));
        store.createContext("/public/to-other-host", exchange -> redirect(exchange, 302, internalUrl("/image.raw")));
        store.createContext("/public/to-file", exchange -> redirect(exchange, 302, "file:///etc/passwd"));
        store.createContext("/public/loop", exchange -> redirect(exchange, 302, "/public/loop"));
        store.createContext("/public/error", exchange -> send(exchange, 500, "internal-detail-4711".getBytes()));
        store.createContext("/public/big", exchange -> send(exchange, 200, new byte[9 * MIB]));
        store.createContext("/public/big-chunked", exchange -> {
            exchange.sendResponseHeaders(200, 0); // no length: chunked
            try (OutputStream out = exchange.getResponseBody()) {
                byte[] mib = imageContent(MIB);
                for (int i = 0; i < 9; i++) {
                    out.write(mib);
                }
            } catch (IOException hungUp) {
                // the import stops reading once it has too much
            }
        });
        store.createContext("/public/silent", exchange -> {
            hit(exchange);
            try {
                Thread.sleep(5_000); // longer than the 2 s the import waits for an answer
            } catch (InterruptedException stopping) {
                Thread.currentThread().interrupt();
            }
            exchange.close();
        });
        store.setExecutor(Executors.newCachedThreadPool());
        store.start();
        internal = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.2"), 0), 0);
        internal.createContext("/image.raw", exchange -> send(exchange, 200, secret));
        internal.setExecutor(Executors.newCachedThreadPool());
        internal.start();
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }
        registry.add(
                "sprig.api.image-sources.allowed-prefixes",
                () -> String.join(
                        ",",
                        storeUrl("/public/"),
                        internalUrl("/"),
                        "http://127.0.0.1:" + closedPort + "/",
                        files.toUri().toString()));
    }

    @AfterAll
    static void stopServers() {
        store.stop(0);
        internal.stop(0);
    }

    static String storeUrl(String path) {
        return "http://127.0.0.1:" + store.getAddress().getPort() + path;
    }

    static String internalUrl(String path) {
        return "http://127.0.0.2:" + internal.getAddress().getPort() + path;
    }

    private static void hit(HttpExchange exchange) {
        String key = exchange.getLocalAddress().getAddress().getHostAddress()
                + exchange.getRequestURI().getPath();
        hits.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
    }

    private static int hits(String hostAndPath) {
        AtomicInteger count = hits.get(hostAndPath);
        return count == null ? 0 : count.get();
    }

    private static void send(HttpExchange exchange, int status, byte[] body) throws IOException {
        hit(exchange);
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        } catch (IOException hungUp) {
            // a client that refuses the body hangs up
        }
    }

    private static void redirect(HttpExchange exchange, int status, String location) throws IOException {
        hit(exchange);
        exchange.getResponseHeaders().add("Location", location);
        exchange.sendResponseHeaders(status, -1);
        exchange.close();
    }

    @LocalServerPort
    int port;

    @Autowired
    ChunkEngine engine;

    @Autowired
    JdbcTemplate jdbc;

    @Autowired
    OperationRunner runner;

    ApiClient api;

    @BeforeEach
    void client() {
        api = new ApiClient(port, KEY);
    }

    // ------------------------------------------------------------------ file: sources

    @Test
    void everySpellingOfAPathOutOfTheAllowedDirectoryIsRefusedWithOneAnswerWhetherTheFileExistsOrNot() {
        String up = "../".repeat(30);
        List<String> escapes = List.of(
                up + "etc/passwd",
                up.replace("..", "%2e%2e") + "etc/passwd",
                up.replace("../", "..%2f") + "etc/passwd",
                up.replace("../", "%2E%2E%2F") + "etc/passwd",
                "sub/" + up + "etc/passwd",
                up + "etc/no-such-file-" + UUID.randomUUID(),
                "no-such-file.raw");
        String base = files.toUri().toString();
        long images = imageRows();

        for (String escape : escapes) {
            String url = base + escape;
            HttpResponse<String> refused = api.post("/v1/images", fileSource(url));

            assertProblem(refused, 400, "INVALID_ARGUMENT");
            assertThat(ApiClient.json(refused).path("detail").asString().replace(url, "URL"))
                    .as(url)
                    .isEqualTo("source url URL names no readable regular file inside the allowed directories [" + files
                            + "] (sprig.api.image-sources.allowed-prefixes)");
        }
        assertThat(imageRows()).isEqualTo(images);
    }

    @Test
    void aLinkInTheAllowedDirectoryToAFileOrDirectoryOutsideIsRefused() throws IOException {
        Path fileLink =
                Files.createSymbolicLink(files.resolve("link-" + suffix() + ".raw"), outside.resolve("secret.raw"));
        Path dirLink = Files.createSymbolicLink(files.resolve("dir-" + suffix()), outside);

        assertProblem(api.post("/v1/images", fileSource(fileLink.toUri().toString())), 400, "INVALID_ARGUMENT");
        assertProblem(
                api.post(
                        "/v1/images",
                        fileSource(dirLink.resolve("secret.raw").toUri().toString())),
                400,
                "INVALID_ARGUMENT");
    }

    @Test
    void aLinkInTheAllowedDirectoryToAFileInsideItImports() throws IOException {
        byte[] content = imageContent(MIB);
        Path target = Files.write(files.resolve("target-" + suffix() + ".raw"), content);
        Path link = Files.createSymbolicLink(files.resolve("inner-link-" + suffix() + ".raw"), target);

        JsonNode image = importImage(fileSource(link.toUri().toString()));

        assertThat(image.path("state").asString()).isEqualTo("available");
        assertThat(engine.read(image.path("lcId").asLong(), 0, content.length)).isEqualTo(content);
    }

    @Test
    void aSourceFileSwappedForALinkOutsideAfterItWasRegisteredIsRefusedByItsImport() {
        // what a swap between registration and import leaves: a running import of a link to outside
        Path link;
        try {
            link = Files.createSymbolicLink(
                    files.resolve("swapped-" + suffix() + ".raw"), outside.resolve("secret.raw"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String imageId = "img-" + suffix();
        String operationId = "op-" + suffix();
        jdbc.update(
                "INSERT INTO resource (extern_id, kind, name, state) VALUES (?, 'image', ?, 'importing')",
                imageId,
                unique("swapped"));
        jdbc.update(
                "INSERT INTO image_source (extern_id, url, format) VALUES (?, ?, 'raw')",
                imageId,
                link.toUri().toString());
        jdbc.update(
                "INSERT INTO operation (operation_id, kind, target_extern_id, state, total)"
                        + " VALUES (?, 'import', ?, 'running', 0)",
                operationId,
                imageId);

        runner.resumeRunning();

        JsonNode operation = api.awaitFinished(operationId);
        assertThat(operation.path("state").asString()).isEqualTo("failed");
        assertThat(operation.path("error").asString()).contains("names no readable regular file inside");
        assertThat(ApiClient.json(api.get("/v1/images/" + imageId)).path("lcId").isNull())
                .isTrue();
    }

    // ------------------------------------------------------------------ http(s) sources

    @Test
    void aRedirectWithinTheAllowedPrefixIsFollowed() {
        JsonNode image = importImage(httpSource(storeUrl("/public/to-public")));

        assertThat(image.path("state").asString()).isEqualTo("available");
        assertThat(engine.read(image.path("lcId").asLong(), 0, served.length)).isEqualTo(served);
    }

    @Test
    void aRedirectOutOfTheAllowedPrefixIsRefusedAndItsTargetNeverAsked() {
        int before = hits("127.0.0.1/internal/secret.raw");

        assertImportFails(httpSource(storeUrl("/public/to-internal")), "the source was refused: ");

        assertThat(hits("127.0.0.1/internal/secret.raw")).isEqualTo(before);
    }

    @Test
    void aRedirectToANonPublicHostThatIsNotListedIsRefusedAndItsTargetNeverAsked() {
        int before = hits("127.0.0.2/image.raw");

        String error = assertImportFails(httpSource(storeUrl("/public/to-other-host")), "the source was refused: ");

        assertThat(error).contains("non-public address", "sprig.api.image-sources.allowed-private-hosts");
        assertThat(hits("127.0.0.2/image.raw")).isEqualTo(before);
    }

    @Test
    void aRedirectToAFileIsRefused() {
        assertImportFails(httpSource(storeUrl("/public/to-file")), "the source was refused: ");
    }

    @Test
    void aRedirectLoopFailsAfterTheMostRedirectsAllowed() {
        int before = hits("127.0.0.1/public/loop");

        assertImportFails(httpSource(storeUrl("/public/loop")), "more than 5 redirects");

        assertThat(hits("127.0.0.1/public/loop") - before).isEqualTo(6);
    }

    @Test
    void aSourceOnANonPublicHostThatIsNotListedIsRefusedWhenRegistered() {
        long images = imageRows();
        int before = hits("127.0.0.2/image.raw");

        HttpResponse<String> refused = api.post("/v1/images", httpSource(internalUrl("/image.raw")));

        assertProblem(refused, 400, "INVALID_ARGUMENT");
        assertThat(ApiClient.json(refused).path("detail").asString())
                .contains("non-public address", "sprig.api.image-sources.allowed-private-hosts");
        assertThat(imageRows()).isEqualTo(images);
        assertThat(hits("127.0.0.2/image.raw")).isEqualTo(before);
    }

    @Test
    void userInformationAndDotSegmentsInAnHttpSourceAreRefused() {
        String store = storeUrl("/public/");
        for (String url : List.of(
                store.replace("http://", "http://user:pw@") + "image.raw",
                store + "../internal/secret.raw",
                store + "%2e%2e/internal/secret.raw",
                store + "..%2finternal/secret.raw",
                // a prefix compared as text would take this host for the store
                "http://127.0.0.1:" + store.split(":")[2].split("/")[0] + "@127.0.0.2:"
                        + internal.getAddress().getPort() + "/public/image.raw")) {
            assertProblem(api.post("/v1/images", httpSource(url)), 400, "INVALID_ARGUMENT");
        }
    }

    @Test
    void anErrorSaysTheSourceFailedWithTheClassOfItsStatusAndNothingOfItsBody() {
        String error = assertImportFails(httpSource(storeUrl("/public/error")), "the source failed: it answered 5xx");

        assertThat(error).doesNotContain("internal-detail", "500");
    }

    @Test
    void aClosedPortAndAHostThatNeverAnswersFailAlike() {
        String closed =
                assertImportFails(httpSource("http://127.0.0.1:" + closedPort + "/image.raw"), "the source failed");
        String silent = assertImportFails(httpSource(storeUrl("/public/silent")), "the source failed");

        assertThat(closed).isEqualTo(silent).isEqualTo("the source failed: no answer from 127.0.0.1");
    }

    // ------------------------------------------------------------------ sizes

    @Test
    void aDownloadDeclaringMoreThanTheMostAllowedFailsAndLeavesNoFile() {
        assertImportFails(httpSource(storeUrl("/public/big")), "sprig.api.image-sources.max-download-size");

        assertThat(downloads()).isEmpty();
    }

    @Test
    void aChunkedDownloadGrowingPastTheMostAllowedFailsAndLeavesNoFile() {
        assertImportFails(
                httpSource(storeUrl("/public/big-chunked")), "the source sent more than " + 8 * MIB + " bytes");

        assertThat(downloads()).isEmpty();
    }

    @Test
    void aQcow2DeclaringMoreThanTheMostAllowedFailsBeforeAnyLcIsDefined() throws Exception {
        Path qcow2 = files.resolve("huge-" + suffix() + ".qcow2");
        run("qemu-img", "create", "-f", "qcow2", qcow2.toString(), "3T");

        assertImportFails(fileSource(qcow2.toUri().toString(), "qcow2"), "(sprig.api.image-sources.max-virtual-size)");
    }

    @Test
    void aSparseTerabyteQcow2WithTwoMibOfDataImportsInSecondsAsItsBytes() throws Exception {
        long size = 1L << 40;
        long far = 700L << 30;
        Path qcow2 = files.resolve("sparse-" + suffix() + ".qcow2");
        run("qemu-img", "create", "-f", "qcow2", qcow2.toString(), String.valueOf(size));
        run(
                "qemu-io",
                "-f",
                "qcow2",
                "-c",
                "write -P 0x5a 0 1M",
                "-c",
                "write -P 0xa5 " + far + " 1M",
                qcow2.toString());

        long started = System.nanoTime();
        JsonNode image = importImage(fileSource(qcow2.toUri().toString(), "qcow2"));
        double seconds = (System.nanoTime() - started) / 1e9;
        System.out.printf("import of a 1 TiB qcow2 with 2 MiB of data: %.2f s%n", seconds);

        assertThat(image.path("state").asString()).as(image.toString()).isEqualTo("available");
        assertThat(image.path("sizeBytes").asLong()).isEqualTo(size);
        long lc = image.path("lcId").asLong();
        assertThat(engine.read(lc, 0, MIB)).containsOnly((byte) 0x5a);
        assertThat(engine.read(lc, MIB, MIB)).containsOnly((byte) 0);
        assertThat(engine.read(lc, far, MIB)).containsOnly((byte) 0xa5);
        assertThat(engine.read(lc, size - MIB, MIB)).containsOnly((byte) 0);
        assertThat(engine.stats(lc).bytesStored()).isEqualTo(2L * MIB);
        // the same import took 40 s when it read every hole
        assertThat(seconds).isLessThan(15);
    }

    @Test
    void aSparseTerabyteRawFileImportsInSeconds() throws Exception {
        long size = 1L << 40;
        Path raw = files.resolve("sparse-" + suffix() + ".raw");
        try (FileChannel file = FileChannel.open(raw, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            file.write(ByteBuffer.wrap(served), size / 2);
            file.write(ByteBuffer.allocate(1), size - 1);
        }

        long started = System.nanoTime();
        JsonNode image = importImage(fileSource(raw.toUri().toString()));
        double seconds = (System.nanoTime() - started) / 1e9;
        System.out.printf("import of a 1 TiB sparse raw file with 1 MiB of data: %.2f s%n", seconds);

        assertThat(image.path("state").asString()).as(image.toString()).isEqualTo("available");
        long lc = image.path("lcId").asLong();
        assertThat(engine.read(lc, size / 2, served.length)).isEqualTo(served);
        assertThat(engine.stats(lc).bytesStored())
                .as("the random half of the MiB; its zero half and the holes store nothing")
                .isEqualTo(served.length / 2);
        assertThat(seconds).isLessThan(15);
    }

    // ------------------------------------------------------------------ corrupt qcow2

    @Test
    void aQcow2CutShortFailsWithQemuImgChecksWords() throws Exception {
        Path qcow2 = files.resolve("cut-" + suffix() + ".qcow2");
        run("qemu-img", "create", "-f", "qcow2", qcow2.toString(), "8M");
        run("qemu-io", "-f", "qcow2", "-c", "write -P 0x55 0 4M", qcow2.toString());
        // the data clusters past 300 KiB are gone; qemu-img convert would read them as zeros
        try (FileChannel file = FileChannel.open(qcow2, StandardOpenOption.WRITE)) {
            file.truncate(300 * 1024);
        }

        String error = assertImportFails(
                fileSource(qcow2.toUri().toString(), "qcow2"), "qemu-img check found the image corrupt");

        assertThat(error).contains("exceeding the end of the file");
    }

    @Test
    void aQcow2WithReservedBitsInAnL1EntryFailsWithQemuImgChecksWords() throws Exception {
        Path qcow2 = files.resolve("reserved-" + suffix() + ".qcow2");
        run("qemu-img", "create", "-f", "qcow2", qcow2.toString(), "8M");
        run("qemu-io", "-f", "qcow2", "-c", "write -P 0x55 0 1M", qcow2.toString());
        try (FileChannel file = FileChannel.open(qcow2, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer header = ByteBuffer.allocate(48);
            file.read(header, 0);
            long l1 = header.getLong(40); // the L1 table's offset
            ByteBuffer entry = ByteBuffer.allocate(8);
            file.read(entry, l1);
            file.write(ByteBuffer.allocate(8).putLong(0, entry.getLong(0) | 1), l1); // bit 0 is reserved
        }

        String error = assertImportFails(
                fileSource(qcow2.toUri().toString(), "qcow2"), "qemu-img check found the image corrupt");

        assertThat(error).contains("L1 entry with reserved bits set");
    }

    // ------------------------------------------------------------------ helpers

    private static String fileSource(String url) {
        return fileSource(url, "raw");
    }

    private static String fileSource(String url, String format) {
        return "{\"name\":\"" + unique("file") + "\",\"source\":{\"url\":\"" + url + "\"},\"format\":\"" + format
                + "\"}";
    }

    private static String httpSource(String url) {
        return "{\"name\":\"" + unique("http") + "\",\"source\":{\"url\":\"" + url + "\"}}";
    }

    private static String suffix() {
        return UUID.randomUUID().toString().replace("-", "").substring(0, 16);
    }

    private List<Path> downloads() {
        Path dir = dataDir.resolve("downloads");
        if (!Files.exists(dir)) {
            return List.of();
        }
        try (Stream<Path> listed = Files.list(dir)) {
            return listed.toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Starts an import, waits for it and returns the image as it is then. */
    private JsonNode importImage(String body) {
        HttpResponse<String> started = api.post("/v1/images", body);
        assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
        JsonNode accepted = ApiClient.json(started);
        api.awaitFinished(accepted.path("operationId").asString());
        return ApiClient.json(api.get("/v1/images/" + ApiClient.id(accepted)));
    }

    /** Starts an import that must fail with {@code cause}, leaving no lc; returns the operation's error. */
    private String assertImportFails(String body, String cause) {
        long lcRows = lcRows();
        HttpResponse<String> started = api.post("/v1/images", body);
        assertThat(started.statusCode()).as(started.body()).isEqualTo(202);
        JsonNode accepted = ApiClient.json(started);

        JsonNode operation = api.awaitFinished(accepted.path("operationId").asString());

        assertThat(operation.path("state").asString()).as(operation.toString()).isEqualTo("failed");
        assertThat(operation.path("error").asString()).contains(cause);
        JsonNode image = ApiClient.json(api.get("/v1/images/" + ApiClient.id(accepted)));
        assertThat(image.path("state").asString()).isEqualTo("error");
        assertThat(image.path("lcId").isNull()).as("the image has no lc").isTrue();
        assertThat(lcRows()).as("lc rows").isEqualTo(lcRows);
        return operation.path("error").asString();
    }

    private long lcRows() {
        return jdbc.queryForObject("SELECT count(*) FROM lc", Long.class);
    }

    private long imageRows() {
        return jdbc.queryForObject("SELECT count(*) FROM resource WHERE kind = 'image'", Long.class);
    }

    private static void run(String... command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        if (process.waitFor() != 0) {
            throw new UncheckedIOException(new IOException(String.join(" ", command) + " failed: " + output));
        }
    }
}
