package dev.sprig.node.fence;

import java.nio.file.Path;

/**
 * The fences file cannot be read back. Start-up stops on it: a node that went on without its fences
 * would serve tokens of epochs that api-server has already fenced off.
 */
public final class DamagedFencesException extends RuntimeException {

    private final transient Path file;

    DamagedFencesException(Path file, String why, Throwable cause) {
        super(message(file, why), cause);
        this.file = file;
    }

    DamagedFencesException(Path file, String why) {
        super(message(file, why));
        this.file = file;
    }

    public Path file() {
        return file;
    }

    /** What an operator can do about it. */
    public String action() {
        return "Restore " + file + " from a backup; or, knowing that data tokens of old epochs are served"
                + " again until api-server raises the fences anew (its reconciler does), delete it.";
    }

    private static String message(Path file, String why) {
        return "the fences file " + file + " is damaged (" + why + "); the node does not start without its"
                + " fences, which would let data tokens of fenced-off epochs write again";
    }
}
