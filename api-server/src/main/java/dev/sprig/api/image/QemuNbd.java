package dev.sprig.api.image;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A read-only {@code qemu-nbd} child process serving one image file on 127.0.0.1, so that the
 * import reads raw and qcow2 alike, with holes reported, through the maintained reader of qcow2
 * (hand-writing a qcow2 parser would be a second, less tested implementation of QEMU's format).
 * Closing it ends the process.
 */
final class QemuNbd implements AutoCloseable {

    static final Duration START_TIMEOUT = Duration.ofSeconds(10);

    private final Process process;
    private final int port;

    private QemuNbd(Process process, int port) {
        this.process = process;
        this.port = port;
    }

    /** Starts qemu-nbd and returns once its port accepts; a file it cannot open fails with its words. */
    static QemuNbd serve(Path file, ImageFormat format) {
        int port = freePort();
        List<String> command = List.of(
                "qemu-nbd",
                "--read-only",
                "--format=" + format.column(),
                "--bind=127.0.0.1",
                "--port=" + port,
                "--shared=" + (NbdCopy.READERS + 1),
                "--persistent",
                file.toAbsolutePath().toString());
        Process process;
        try {
            process = new ProcessBuilder(ChildCommand.of(command))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
        } catch (IOException e) {
            throw new ImportFailure("qemu-nbd could not be started (is qemu-utils installed?): " + e.getMessage(), e);
        }
        QemuNbd server = new QemuNbd(process, port);
        try {
            server.awaitListening();
            return server;
        } catch (RuntimeException e) {
            server.close();
            throw e;
        }
    }

    int port() {
        return port;
    }

    private void awaitListening() {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new ImportFailure("qemu-nbd refused the image: " + stderr());
            }
            try (Socket probe = new Socket()) {
                probe.connect(new InetSocketAddress("127.0.0.1", port), 200);
                return;
            } catch (IOException notYet) {
                sleep();
            }
        }
        throw new ImportFailure("qemu-nbd did not listen within " + START_TIMEOUT.toSeconds() + " s");
    }

    /**
     * What a broken connection to qemu-nbd means. qemu-nbd listens before it opens the image, so a
     * file it cannot read (a raw file declared qcow2) shows first as a connection it drops; then its
     * own words, on its way out, are the cause worth reporting.
     */
    ImportFailure failure(IOException broken) {
        try {
            if (process.waitFor(2, TimeUnit.SECONDS)) {
                return new ImportFailure("qemu-nbd refused the image: " + stderr(), broken);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return new ImportFailure("reading the image through qemu-nbd failed: " + broken.getMessage(), broken);
    }

    private String stderr() {
        try {
            String text = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            return text.isEmpty() ? "it exited with status " + process.exitValue() : text;
        } catch (IOException e) {
            return "it exited with status " + process.exitValue();
        }
    }

    /**
     * A port that was free a moment ago. Another process could take it before qemu-nbd binds; then
     * qemu-nbd exits with "Address already in use" and the import fails with that message.
     */
    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new ImportFailure("no free local port for qemu-nbd: " + e.getMessage(), e);
        }
    }

    private static void sleep() {
        try {
            Thread.sleep(20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ImportFailure("the import was interrupted", e);
        }
    }

    /**
     * Ends qemu-nbd: asked to stop (it exits at once, its clients' connections broken), killed with
     * whatever it started if it has not within a moment, such as after a cancelled import.
     */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(2, TimeUnit.SECONDS)) {
                ChildCommand.kill(process);
            }
        } catch (InterruptedException e) {
            ChildCommand.kill(process);
            Thread.currentThread().interrupt();
        }
    }
}
