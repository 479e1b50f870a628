package dev.sprig.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs a worker main class in a child JVM, lets it work for a while after it prints {@code READY},
 * then kills it with SIGKILL. The worker reports progress as lines {@code <prefix> <n>} (the last n
 * it completed durably) and {@code DONE} when its script ended before the kill.
 *
 * @param lastReported the last n the worker reported, -1 if none
 * @param done whether the worker finished its script before it was killed
 */
record KilledWorker(int lastReported, boolean done) {

    static KilledWorker run(Class<?> main, String progressPrefix, int delayMillis, String... args) throws Exception {
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m",
                "-XX:TieredStopAtLevel=1",
                "-cp",
                classPath,
                main.getName()));
        command.addAll(List.of(args));
        Process worker = new ProcessBuilder(command)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        String prefix = progressPrefix + " ";
        AtomicInteger lastReported = new AtomicInteger(-1);
        CountDownLatch ready = new CountDownLatch(1);
        boolean[] done = new boolean[1];
        Thread reader = new Thread(() -> {
            try (BufferedReader out =
                    new BufferedReader(new InputStreamReader(worker.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = out.readLine(); line != null; line = out.readLine()) {
                    if (line.equals("READY")) {
                        ready.countDown();
                    } else if (line.startsWith(prefix)) {
                        lastReported.set(Integer.parseInt(line.substring(prefix.length())));
                    } else if (line.equals("DONE")) {
                        done[0] = true;
                    }
                }
            } catch (IOException e) {
                // the pipe closes when the worker dies; what was read so far is the record
            }
        });
        reader.start();
        assertThat(ready.await(60, TimeUnit.SECONDS)).as("worker started").isTrue();
        Thread.sleep(delayMillis);
        worker.destroyForcibly();
        worker.waitFor();
        reader.join();
        return new KilledWorker(lastReported.get(), done[0]);
    }
}
