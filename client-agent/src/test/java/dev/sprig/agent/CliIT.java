package dev.sprig.agent;

import static dev.sprig.agent.Tools.run;
import static org.assertj.core.api.Assertions.assertThat;

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

    @BeforeAll
    static void start() throws Exception {
        apiServer = ApiServerProcess.start("agent-cli");
        file = apiServer.dir.resolve("base.raw");
        Files.write(file, CONTENT);
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
        List<String> command = new java.util.ArrayList<>(List.of("java", "-jar", JAR.toString()));
        command.addAll(List.of(arguments));
        command.addAll(List.of("--api", apiServer.uri().toString(), "--api-key", ApiServerProcess.KEY));
        return command.toArray(String[]::new);
    }
}
