package dev.sprig.node.engine;

/**
 * Engine settings.
 *
 * @param syncDirtyMarks force the journal to disk when a segment is first rewritten in place since
 *     the last flush. Without it, a {@code kill -9} never yields a false corruption report (the
 *     kernel keeps the journal record, written before the data, in its page cache), but a power
 *     loss in the window before the next flush could let the data reach the disk before its
 *     "dirty" record, and that segment would then be reported as corrupt after restart. With it,
 *     that window is closed at the cost of one journal fsync per segment per flush interval.
 *     Default {@code false}.
 * @param checkpointJournalBytes once the journal grows past this many bytes, the next
 *     {@code flushAll} writes a checkpoint and starts a new journal. Default 64 MiB.
 * @param directIo read a file being adopted (and have its writer write it) with direct I/O, past the
 *     page cache, where the file system allows it. Default {@code true}.
 */
public record EngineConfig(boolean syncDirtyMarks, long checkpointJournalBytes, boolean directIo) {

    public EngineConfig {
        if (checkpointJournalBytes <= 0) {
            throw new IllegalArgumentException("checkpointJournalBytes must be positive");
        }
    }

    /** These settings, with direct I/O on or off. */
    public EngineConfig withDirectIo(boolean on) {
        return new EngineConfig(syncDirtyMarks, checkpointJournalBytes, on);
    }

    public static EngineConfig defaults() {
        return new EngineConfig(false, 64L << 20, true);
    }
}
