package dev.sprig.api.image;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The command line of a helper process (qemu-img, qemu-nbd) that must not outlive api-server: where
 * util-linux's {@code setpriv} is installed, it runs the helper with SIGKILL as its parent-death
 * signal, so a leader killed mid-import leaves no qemu-nbd serving and no qemu-img writing behind it.
 * It also says how a helper is stopped when its import is cancelled ({@link #kill}).
 */
final class ChildCommand {

    private static final Path SETPRIV = Path.of("/usr/bin/setpriv");
    private static final boolean DIES_WITH_PARENT = Files.isExecutable(SETPRIV);

    private ChildCommand() {}

    static List<String> of(List<String> command) {
        if (!DIES_WITH_PARENT || !onPath(command.get(0))) {
            // a missing program is then reported by ProcessBuilder.start, not as setpriv's exit status
            return command;
        }
        List<String> wrapped = new ArrayList<>(List.of(SETPRIV.toString(), "--pdeathsig", "KILL", "--"));
        wrapped.addAll(command);
        return wrapped;
    }

    private static boolean onPath(String program) {
        if (program.contains("/")) {
            return Files.isExecutable(Path.of(program));
        }
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String dir : path.split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }

    /** How long a killed helper is waited for. */
    static final Duration KILL_WAIT = Duration.ofSeconds(5);

    /**
     * Kills a helper and whatever it started (SIGKILL, children first, so that none is left to the
     * init process) and waits for it a moment: the caller goes on knowing it no longer runs.
     * Interrupts are kept for the caller.
     */
    static void kill(Process process) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        boolean interrupted = Thread.interrupted();
        try {
            while (true) {
                try {
                    process.waitFor(KILL_WAIT.toMillis(), TimeUnit.MILLISECONDS);
                    return;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
