package dev.sprig.engine;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Engines whose fsync fails once a test says so, for the tests of what a node answers after a
 * failed fsync (a failing fsync cannot be provoked on a healthy disk). Everything else is real.
 */
public final class FailingFsyncEngines {

    private FailingFsyncEngines() {}

    /** An engine in {@code dir} whose every fsync fails with EIO while {@code fail} is set. */
    public static ChunkEngine open(Path dir, AtomicBoolean fail) {
        return ChunkEngine.open(dir, EngineConfig.defaults(), (channel, metaData) -> {
            if (fail.get()) {
                throw new IOException("Input/output error (injected)");
            }
            channel.force(metaData);
        });
    }
}
