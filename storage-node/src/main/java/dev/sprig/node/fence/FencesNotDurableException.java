package dev.sprig.node.fence;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A raised fence could not be written to disk. It holds in this run (refusing an old epoch is never
 * wrong once api-server asked for it), but a restart would forget it, so the raise is answered as a
 * failure and the caller raises it again.
 */
public final class FencesNotDurableException extends RuntimeException {

    FencesNotDurableException(Path file, IOException cause) {
        super("the fences could not be written to " + file + ": " + cause.getMessage(), cause);
    }
}
