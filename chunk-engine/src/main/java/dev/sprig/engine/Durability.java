package dev.sprig.engine;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.jspecify.annotations.Nullable;

/**
 * Every fsync of the engine goes through here, and the first one that fails turns the engine
 * read-only for the rest of its run.
 *
 * <p>Why not retry: after a failed fsync Linux may already have dropped the dirty pages it could not
 * write and marked them clean, so a second fsync can succeed although the data never reached the
 * disk. Nothing the engine holds in memory can be trusted to match the disk any more, so it stops
 * changing anything: writes, flushes and lineage changes answer {@link EngineReadOnlyException},
 * reads go on, and no checkpoint is written (it would make durable a state the disk may not have).
 * Reopening the engine (restarting the node) recovers from what the disk does hold.
 */
final class Durability {

    private final Fsync fsync;
    private volatile @Nullable String readOnlyReason;

    Durability(Fsync fsync) {
        this.fsync = fsync;
    }

    /**
     * Forces {@code channel} to disk.
     *
     * @param what the file, for the reason an operator sees ({@code journal}, {@code lc 7})
     * @throws EngineReadOnlyException the engine was read-only already, or the fsync failed now
     */
    void force(FileChannel channel, boolean metaData, String what) {
        checkWritable();
        try {
            fsync.force(channel, metaData);
        } catch (IOException e) {
            throw failed(what, e);
        }
    }

    /** Forces a directory, so that the files created, renamed or removed in it are durable. */
    void forceDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            force(ch, true, "directory " + dir.getFileName());
        }
    }

    /** Throws once the engine is read-only. */
    void checkWritable() {
        String reason = readOnlyReason;
        if (reason != null) {
            throw new EngineReadOnlyException(reason, null);
        }
    }

    /** Why the engine is read-only, or null while it is not. */
    @Nullable
    String readOnlyReason() {
        return readOnlyReason;
    }

    private synchronized EngineReadOnlyException failed(String what, IOException cause) {
        if (readOnlyReason == null) {
            readOnlyReason = "fsync of " + what + " failed: " + cause.getMessage();
            System.getLogger(ChunkEngine.class.getName())
                    .log(System.Logger.Level.ERROR, "engine is now read-only: " + readOnlyReason, cause);
        }
        return new EngineReadOnlyException(readOnlyReason, cause);
    }
}
