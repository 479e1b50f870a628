package dev.sprig.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * The {@code java} command with which tests start one of the project's executable jars (storage
 * nodes, above all). A build starts about a hundred such JVMs on two cores and each start is
 * CPU-bound: loading classes out of nested jars, and compiling them. So the jar is started the way
 * Spring Boot suggests for quick starts: extracted once per build, with a class-data archive (CDS)
 * recorded by one training start that stops once the context is refreshed, and on C1 alone with the
 * serial collector. A storage node answered after 2.7 s this way, 4.7 s from the fat jar.
 *
 * <p>Lives in nbd-protocol's test jar because that is the test fixture every module that starts
 * processes already has. If the archive cannot be made the command starts the plain jar: slower,
 * never wrong.
 */
public final class QuickStart {

    private static final Map<Path, Optional<Prepared>> PREPARED = new HashMap<>();

    /**
     * For every JVM a test starts: on two cores a start is mostly JIT compiler and collector threads
     * (an api-server process took 21 CPU-s to answer, 10 with these).
     */
    public static final List<String> LIGHT_JVM = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC");

    private QuickStart() {}

    /** {@code java} with {@link #LIGHT_JVM} and {@code -jar jar}, for jars without an archive (api-server, the agent). */
    public static List<String> plainJar(Path jar) {
        List<String> command = new ArrayList<>(List.of("java"));
        command.addAll(LIGHT_JVM);
        command.addAll(List.of("-jar", jar.toString()));
        return command;
    }

    /** {@link #plainJar(Path)} with a heap limit. */
    public static List<String> plainJar(Path jar, String heap) {
        List<String> command = plainJar(jar);
        command.add(1, "-Xmx" + heap);
        return command;
    }

    /** A storage node's executable jar ({@code storage-node-exec.jar}). */
    public static List<String> storageNode(Path executableJar) {
        return java(
                executableJar,
                "256m",
                scratch -> List.of("--sprig.node.token=quick-start-training", "--sprig.node.data-dir=" + scratch));
    }

    /**
     * The command up to and including the jar; the caller appends the application's arguments.
     *
     * @param training what the jar needs to get through its context refresh once (a token, a data
     *     directory in the scratch directory given); the training start binds no port. It must start
     *     no process of its own, which the training's exit would leave behind (api-server's embedded
     *     PostgreSQL does)
     */
    public static List<String> java(Path executableJar, String heap, Function<Path, List<String>> training) {
        List<String> command = new ArrayList<>(List.of("java", "-Xmx" + heap));
        command.addAll(LIGHT_JVM);
        Optional<Prepared> prepared = prepared(executableJar, training);
        if (prepared.isPresent()) {
            command.add("-XX:SharedArchiveFile=" + prepared.get().archive());
            command.add("-Xlog:cds=off,cds+dynamic=off");
            command.addAll(List.of("-jar", prepared.get().jar().toString()));
        } else {
            command.addAll(List.of("-jar", executableJar.toString()));
        }
        return command;
    }

    private record Prepared(Path jar, Path archive) {}

    private static synchronized Optional<Prepared> prepared(Path executableJar, Function<Path, List<String>> training) {
        Path jar = executableJar.toAbsolutePath().normalize();
        return PREPARED.computeIfAbsent(jar, ignored -> {
            try {
                return Optional.of(prepare(jar, training));
            } catch (IOException | RuntimeException e) {
                System.err.println("quick start of " + jar + " not prepared, starting the plain jar: " + e);
                return Optional.empty();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Optional.empty();
            }
        });
    }

    /** Once per build of the jar, across the test JVMs that run at once (a file lock orders them). */
    private static Prepared prepare(Path jar, Function<Path, List<String>> training)
            throws IOException, InterruptedException {
        String name = jar.getFileName().toString();
        String build = name.replaceFirst("\\.jar$", "") + "-" + Files.size(jar) + "-"
                + Files.getLastModifiedTime(jar).toMillis();
        Path home = jar.resolveSibling("quick-start").resolve(build);
        Prepared prepared = new Prepared(home.resolve("jar").resolve(name), home.resolve("classes.jsa"));
        if (Files.exists(prepared.archive())) {
            return prepared;
        }
        Files.createDirectories(home.getParent());
        try (FileChannel lockFile = FileChannel.open(
                        home.resolveSibling(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock ignored = lockFile.lock()) {
            if (Files.exists(prepared.archive())) {
                return prepared;
            }
            deleteTree(home); // what an interrupted preparation left
            Files.createDirectories(home);
            Path log = home.resolve("prepare.log");
            run(
                    log,
                    List.of(
                            "java",
                            "-Djarmode=tools",
                            "-jar",
                            jar.toString(),
                            "extract",
                            "--destination",
                            home.resolve("jar").toString()));
            // the archive names the jar it was recorded from: train on the extracted jar where it stays
            Path recording = home.resolve("classes.jsa.recording");
            List<String> train = new ArrayList<>(List.of("java"));
            train.addAll(LIGHT_JVM);
            train.addAll(List.of(
                    "-XX:ArchiveClassesAtExit=" + recording,
                    "-Dspring.context.exit=onRefresh",
                    "-jar",
                    prepared.jar().toString()));
            train.addAll(training.apply(Files.createDirectories(home.resolve("training"))));
            run(log, train);
            if (!Files.exists(recording)) {
                throw new IOException("the training start wrote no archive; see " + log);
            }
            Files.move(recording, prepared.archive(), StandardCopyOption.ATOMIC_MOVE);
            pruneOtherBuilds(home);
            return prepared;
        }
    }

    /**
     * Each build of the jar leaves about 100 MB here; only the newest is used. A process started from
     * an older one keeps its open files.
     */
    private static void pruneOtherBuilds(Path home) throws IOException {
        try (Stream<Path> builds = Files.list(home.getParent())) {
            for (Path build : builds.toList()) {
                if (Files.isDirectory(build) && !build.equals(home)) {
                    deleteTree(build);
                }
            }
        }
    }

    private static void run(Path log, List<String> command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        if (!process.waitFor(3, TimeUnit.MINUTES)) {
            process.destroyForcibly().waitFor();
            throw new IOException("timed out: " + String.join(" ", command));
        }
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
