package dev.sprig.engine;

import java.time.Duration;

/**
 * Engine settings.
 *
 * @param syncDirtyMarks force the journal to disk when a segment is first rewritten in place since
 *     the last flush. Without it, a {@code kill -9} never yields a false corruption report (the
 *     kernel keeps the journal record, written before the data, in its page cache), but a power
 *     loss in the window before the next flush could let the data reach the disk before its
 *     "dirty" record, and that segment would then be reported as corrupt after restart. With it,
 *     that window is closed at the cost of one journal fsync per segment per flush interval. The
 *     same holds for data written over a segment that was zeroed since it held data: its zero
 *     mark is forced first.
 *     Default {@code false}.
 * @param checkpointJournalBytes once the journal reaches this many bytes, a background checkpoint
 *     writes the metadata out and starts a new journal, whatever appended the last record (writes,
 *     flushes, lineage changes). At twice this size a flush waits for that checkpoint, so that
 *     traffic cannot outrun it. This bounds what a restart after a crash replays. Default 64 MiB;
 *     values above {@link #MAX_CHECKPOINT_JOURNAL_BYTES} are taken as that (in effect: never).
 * @param checkpointInterval a journal whose oldest record is this old is checkpointed even if it is
 *     small, so that a quiet node also restarts from a recent checkpoint. Default 5 minutes; values
 *     above {@link #MAX_CHECKPOINT_INTERVAL} (about 292 years) are taken as that (in effect: never).
 * @param directIo use direct I/O, past the page cache, where the file system allows it: to read a
 *     file being adopted (and have its writer write it), to write whole segments (a first
 *     write's redirect, a fill, a whole-segment rewrite) and to read an lc's own segments for
 *     another replica (see {@code WholeSegments}). Default
 *     {@code true}.
 */
public record EngineConfig(
        boolean syncDirtyMarks, long checkpointJournalBytes, Duration checkpointInterval, boolean directIo) {

    /** The checkpointer compares the journal with twice this, which must not overflow. */
    public static final long MAX_CHECKPOINT_JOURNAL_BYTES = Long.MAX_VALUE / 2;
    /** The checkpointer measures age in nanoseconds, a long. */
    public static final Duration MAX_CHECKPOINT_INTERVAL = Duration.ofNanos(Long.MAX_VALUE);

    public EngineConfig {
        if (checkpointJournalBytes <= 0) {
            throw new IllegalArgumentException("checkpointJournalBytes must be positive");
        }
        if (checkpointInterval.isNegative() || checkpointInterval.isZero()) {
            throw new IllegalArgumentException("checkpointInterval must be positive");
        }
        checkpointJournalBytes = Math.min(checkpointJournalBytes, MAX_CHECKPOINT_JOURNAL_BYTES);
        if (checkpointInterval.compareTo(MAX_CHECKPOINT_INTERVAL) > 0) {
            checkpointInterval = MAX_CHECKPOINT_INTERVAL;
        }
    }

    /** These settings, with direct I/O on or off. */
    public EngineConfig withDirectIo(boolean on) {
        return new EngineConfig(syncDirtyMarks, checkpointJournalBytes, checkpointInterval, on);
    }

    /** These settings, checkpointing at {@code journalBytes} or when the journal is {@code interval} old. */
    public EngineConfig withCheckpoints(long journalBytes, Duration interval) {
        return new EngineConfig(syncDirtyMarks, journalBytes, interval, directIo);
    }

    public static EngineConfig defaults() {
        return new EngineConfig(false, 64L << 20, Duration.ofMinutes(5), true);
    }
}
