package dev.sprig.agent;

import static dev.sprig.agent.Tools.run;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sprig.client.DiskView;
import dev.sprig.testing.QuickStart;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The commands people script, run from the built jar ({@code target/sprig-agent.jar}) against a real
 * api-server: ids on stdout, one per line; progress on stderr.
 */
class CliIT {

    static final Path JAR = Path.of("target", "sprig-agent.jar").toAbsolutePath();
    static final byte[] CONTENT = AgentServeIT.imageContent(6 << 20);

    static ApiServerProcess apiServer;
    static Path file;
    static Path sources;
    static SprigApi api;
    static SprigApi admin;

    @BeforeAll
    static void start() throws Exception {
        sources = ApiServerProcess.fresh("agent-cli-sources");
        apiServer =
                ApiServerProcess.start("agent-cli", "--sprig.api.image-sources.allowed-prefixes=" + sources.toUri());
        file = apiServer.dir.resolve("base.raw");
        Files.write(file, CONTENT);
        api = new SprigApi(apiServer.uri(), ApiServerProcess.KEY);
        admin = new SprigApi(apiServer.uri(), ApiServerProcess.ADMIN_KEY);
    }

    @AfterAll
    static void stop() throws Exception {
        if (apiServer != null) {
            apiServer.close();
        }
    }

    @Test
    void anImportedImageClonedAndExportedComesBackByteForByte() throws Exception {
        String image = agent("images", "import", file.toString(), "--name", SprigApi.unique("img"))
                .strip();
        List<String> disks =
                agent("disks", "clone", image, "--count", "3").lines().toList();
        Path exported = apiServer.dir.resolve("exported.raw");

        agent("disks", "export", disks.get(2), exported.toString());

        assertThat(disks).hasSize(3).allMatch(id -> id.startsWith("disk-"));
        assertThat(Files.readAllBytes(exported)).isEqualTo(CONTENT);
    }

    @Test
    void aBatchCloneOfAnImageNotCachedWaitsForItsImportThenPrintsTheDisks() throws Exception {
        String image = evictedImage("waited.raw");
        String prefix = SprigApi.unique("waited");

        Tools.Result cloned = run(command("disks", "clone", image, "--count", "3", "--name", prefix));

        assertThat(cloned.exitCode()).as(cloned.output()).isZero();
        assertThat(cloned.output()).contains("is being imported first: operation ");
        List<String> disks =
                cloned.output().lines().filter(line -> line.startsWith("disk-")).toList();
        assertThat(disks).hasSize(3);
        assertThat(api.disksNamed(prefix + "-"))
                .extracting(DiskView::externId)
                .containsExactlyInAnyOrderElementsOf(disks);
        Path exported = apiServer.dir.resolve("waited-export.raw");
        agent("disks", "export", disks.get(1), exported.toString());
        assertThat(Files.readAllBytes(exported)).isEqualTo(CONTENT);
    }

    @Test
    void withNoWaitABatchCloneOfAnImageNotCachedPrintsItsOperation() throws Exception {
        String image = evictedImage("not-waited.raw");

        String operation =
                agent("disks", "clone", image, "--count", "2", "--no-wait").strip();

        assertThat(api.operation(operation).kind()).isEqualTo("clone");
    }

    @Test
    void aCreateWhoseAnswerWasLostIsSentAgainWithTheSameKeyAndAppliedOnce() throws Exception {
        String image = agent("images", "import", file.toString(), "--name", SprigApi.unique("img"))
                .strip();
        String name = SprigApi.unique("lost");
        try (LossyProxy proxy = new LossyProxy(apiServer.port, LossyProxy.Spoil.LOSE_THE_ANSWER)) {

            String disk = Tools.stdout(commandVia(proxy.uri(), "disks", "clone", image, "--name", name))
                    .strip();

            assertThat(api.disksNamed(name)).extracting(DiskView::externId).containsExactly(disk);
            assertThat(idempotencyKeys(proxy))
                    .hasSize(2)
                    .containsOnly(idempotencyKeys(proxy).get(0));
        }
    }

    @Test
    void aCreateAnswered5xxIsSentAgainWithTheSameKey() throws Exception {
        String image = agent("images", "import", file.toString(), "--name", SprigApi.unique("img"))
                .strip();
        String prefix = SprigApi.unique("retried");
        try (LossyProxy proxy = new LossyProxy(apiServer.port, LossyProxy.Spoil.ANSWER_503)) {

            List<String> disks = Tools.stdout(
                            commandVia(proxy.uri(), "disks", "clone", image, "--count", "2", "--name", prefix))
                    .lines()
                    .toList();

            assertThat(disks).hasSize(2);
            assertThat(idempotencyKeys(proxy))
                    .hasSize(2)
                    .containsOnly(idempotencyKeys(proxy).get(0));
        }
    }

    @Test
    void everyCreateSendsAFreshIdempotencyKey() throws Exception {
        try (LossyProxy proxy = new LossyProxy(apiServer.port, LossyProxy.Spoil.ANSWER_503)) {
            // the first request is answered 503 and sent again: the import's create; then its upload
            String image = Tools.stdout(commandVia(
                            proxy.uri(), "images", "import", file.toString(), "--name", SprigApi.unique("img")))
                    .strip();
            Tools.stdout(commandVia(proxy.uri(), "disks", "clone", image));
            Tools.stdout(commandVia(proxy.uri(), "disks", "clone", image));

            List<String> keys = idempotencyKeys(proxy);
            assertThat(keys).as("the import's create twice, then each clone").hasSize(4);
            assertThat(keys.get(1)).as("the import's create, sent again").isEqualTo(keys.get(0));
            assertThat(keys.subList(1, 4)).doesNotHaveDuplicates();
        }
    }

    @Test
    void aServerThatNeverAnswersTimesOutWithTheTimeoutGiven() throws Exception {
        try (java.net.ServerSocket silent = new java.net.ServerSocket(0)) {
            List<String> command = QuickStart.plainJar(JAR);
            command.addAll(List.of("disks", "clone", "img-x", "--timeout", "1", "--api"));
            command.addAll(List.of("http://127.0.0.1:" + silent.getLocalPort(), "--api-key", ApiServerProcess.KEY));
            long started = System.nanoTime();

            Tools.Result result = run(command.toArray(String[]::new));

            assertThat(result.exitCode()).isNotZero();
            assertThat(result.output()).contains("got no answer in 1 s");
            assertThat(Duration.ofNanos(System.nanoTime() - started))
                    .as("two tries of a second each, and the JVM's start")
                    .isLessThan(Duration.ofSeconds(20));
        }
    }

    /** An image imported from a file: source whose cached copy was then evicted. */
    private static String evictedImage(String fileName) throws Exception {
        Path source = sources.resolve(fileName);
        Files.write(source, CONTENT);
        String image = api.imageFrom(source);
        admin.evict(image);
        return image;
    }

    private static List<String> idempotencyKeys(LossyProxy proxy) {
        return proxy.heads().stream()
                .filter(head -> head.startsWith("POST "))
                .flatMap(head -> head.lines())
                .filter(line -> line.toLowerCase(java.util.Locale.ROOT).startsWith("idempotency-key:"))
                .map(line -> line.substring("idempotency-key:".length()).strip())
                .toList();
    }

    @Test
    void lineageLeadsFromADiskToItsImage() throws Exception {
        String image = agent("images", "import", file.toString(), "--name", "lineage-base")
                .strip();
        String disk = agent("disks", "clone", image).strip();

        String lineage = agent("disks", "lineage", disk);

        assertThat(lineage).contains(disk).contains(image);
    }

    @Test
    void exportingAnUnknownDiskFailsWithoutCreatingTheFile() throws Exception {
        Path target = apiServer.dir.resolve("never.raw");

        Tools.Result result = run(command("disks", "export", "disk-that-does-not-exist", target.toString()));

        assertThat(result.exitCode()).isNotZero();
        assertThat(result.output()).contains("no disk disk-that-does-not-exist");
        assertThat(target).doesNotExist();
    }

    @Test
    void resizeGrowsADiskAndRefusesToShrinkItSayingWhy() throws Exception {
        String image = agent("images", "import", file.toString(), "--name", SprigApi.unique("img"))
                .strip();
        String disk = agent("disks", "clone", image).strip();

        assertThat(agent("disks", "resize", disk, "8M").strip()).isEqualTo(String.valueOf(8 << 20));

        assertThat(api.attachment(disk).sizeBytes()).isEqualTo(8L << 20);
        Tools.Result shrink = run(command("disks", "resize", disk, "4M"));
        assertThat(shrink.exitCode()).isNotZero();
        assertThat(shrink.output()).contains("can grow, not shrink");
        Tools.Result notASize = run(command("disks", "resize", disk, "8MB"));
        assertThat(notASize.exitCode()).isEqualTo(2);
        assertThat(notASize.output()).contains("SIZE must be");
    }

    @Test
    void revertIsRefusedNamingTheHolderUntilDetachAndThenRevertsTheDisk() throws Exception {
        // made through the API: each sprig-agent run is a JVM start, and these commands have tests of their own
        String image = api.image(CONTENT);
        String disk = api.clone(image);
        String snapshot = agent("snapshots", "create", disk).strip();
        assertThat(snapshot).startsWith("snap-");
        long written = api.attachment(disk).lcId(); // a read-write attachment: the holder 'unnamed'

        Tools.Result held = run(command("disks", "revert", disk, snapshot));
        assertThat(held.exitCode()).isEqualTo(1);
        assertThat(held.output()).contains("409", "attached for writing by 'unnamed'");

        assertThat(run(command("disks", "detach", disk)).exitCode()).isZero();
        assertThat(agent("disks", "revert", disk, snapshot).strip()).isEqualTo(disk);
        assertThat(api.readOnlyAttachment(disk).lcId()).isNotEqualTo(written);
    }

    @Test
    void labelsGivenOnCloneAndSnapshotAreWhatTheListsFilterBy() throws Exception {
        String image = api.image(CONTENT);
        String fleet = SprigApi.unique("fleet");
        List<String> labelled = agent("disks", "clone", image, "--count", "3", "--label", "fleet=" + fleet)
                .lines()
                .toList();
        String single = agent("disks", "clone", image, "--label", "fleet=" + fleet, "--label", "tier=gold")
                .strip();
        api.clone(image);

        List<String> lines =
                agent("disks", "list", "--label", "fleet=" + fleet).lines().toList();

        assertThat(lines).hasSize(4);
        assertThat(lines.stream().map(line -> line.split("\t")[0]))
                .containsExactlyInAnyOrderElementsOf(
                        java.util.stream.Stream.concat(labelled.stream(), java.util.stream.Stream.of(single))
                                .toList());
        assertThat(lines.get(3)).endsWith("\tfleet=" + fleet + ",tier=gold");
        String snapshot =
                agent("snapshots", "create", single, "--label", "reason=test").strip();
        assertThat(agent("snapshots", "list", "--label", "reason=test").strip()).startsWith(snapshot + "\t");
        assertThat(agent("images", "list").lines().map(line -> line.split("\t")[0]))
                .contains(image);
        Tools.Result refused = run(command("disks", "list", "--label", "fleet=two words"));
        assertThat(refused.exitCode()).isEqualTo(1);
        assertThat(refused.output()).contains("400", "a value is up to 63 letters");
    }

    @Test
    void snapshotsListPrintsADisksSnapshotsOldestFirstOneALine() throws Exception {
        String image = agent("images", "import", file.toString(), "--name", SprigApi.unique("img"))
                .strip();
        String disk = agent("disks", "clone", image).strip();
        String first = api.snapshot(disk);
        String second = api.snapshot(disk);

        List<String> lines = agent("snapshots", "list", "--disk", disk).lines().toList();

        assertThat(lines).hasSize(2);
        assertThat(lines.get(0)).startsWith(first + "\t").contains("\t" + disk + "\t" + CONTENT.length + "\t");
        assertThat(lines.get(1)).startsWith(second + "\t");
        assertThat(agent("snapshots", "list").lines().map(line -> line.split("\t")[0]))
                .contains(first, second);
        Tools.Result unknown = run(command("snapshots", "list", "--disk", "disk-0000000000000000"));
        assertThat(unknown.exitCode()).isEqualTo(1);
        assertThat(unknown.output()).contains("404");
    }

    @Test
    void serveFromTheJarAnswersNbdinfo() throws Exception {
        String image = agent("images", "import", file.toString(), "--name", SprigApi.unique("img"))
                .strip();
        String disk = agent("disks", "clone", image).strip();
        int port = ApiServerProcess.freePort();
        Process serve = new ProcessBuilder(command("serve", "--listen", "127.0.0.1:" + port))
                .redirectErrorStream(true)
                .redirectOutput(apiServer.dir.resolve("serve.log").toFile())
                .start();
        try {
            String uri = "nbd://127.0.0.1:" + port + "/" + disk;
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            Tools.Result size = run("nbdinfo", "--size", uri);
            while (size.exitCode() != 0 && System.nanoTime() < deadline) {
                Thread.sleep(200); // the JVM is still starting
                size = run("nbdinfo", "--size", uri);
            }

            assertThat(size.output().strip()).isEqualTo(String.valueOf(CONTENT.length));
        } finally {
            serve.destroy();
            serve.waitFor();
        }
    }

    private static String agent(String... arguments) throws Exception {
        return Tools.stdout(command(arguments));
    }

    /** The command line, with the API's address and key as people would pass them. */
    private static String[] command(String... arguments) {
        return commandVia(apiServer.uri().toString(), arguments);
    }

    /** The jar's command line against the api-server at {@code api}, with the test key. */
    static String[] commandVia(String api, String... arguments) {
        List<String> command = QuickStart.plainJar(JAR);
        command.addAll(List.of(arguments));
        command.addAll(List.of("--api", api, "--api-key", ApiServerProcess.KEY));
        return command.toArray(String[]::new);
    }
}
