package dev.sprig.api.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A helper process started through {@link ChildCommand} dies with the JVM that started it. */
class ChildCommandTest {

    /** Started in a child JVM: starts {@code sleep 600} as api-server starts qemu-img, prints its pid, waits. */
    public static final class Parent {
        public static void main(String[] args) throws Exception {
            Process sleeper = new ProcessBuilder(ChildCommand.of(List.of("sleep", "600"))).start();
            System.out.println(sleeper.pid());
            System.out.flush();
            sleeper.waitFor();
        }
    }

    @Test
    void aHelperDiesWhenTheJvmThatStartedItIsKilled() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "no setpriv on this machine");
        Process parent = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-cp",
                        System.getProperty("java.class.path"),
                        Parent.class.getName())
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        long sleeperPid;
        try (BufferedReader out =
                new BufferedReader(new InputStreamReader(parent.getInputStream(), StandardCharsets.UTF_8))) {
            sleeperPid = Long.parseLong(out.readLine().strip());
        }
        Optional<ProcessHandle> sleeper = ProcessHandle.of(sleeperPid);
        assertThat(sleeper)
                .as("the helper runs")
                .hasValueSatisfying(h -> assertThat(h.isAlive()).isTrue());

        parent.destroyForcibly(); // SIGKILL: no shutdown hook runs
        assertThat(parent.waitFor(10, TimeUnit.SECONDS)).isTrue();

        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (sleeper.get().isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        boolean orphaned = sleeper.get().isAlive();
        sleeper.get().destroyForcibly();
        assertThat(orphaned).as("the helper outlived the JVM that started it").isFalse();
    }
}
