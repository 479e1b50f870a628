package dev.sprig.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.StampedLock;
import org.jspecify.annotations.Nullable;

/**
 * The engine's metadata on disk: the journal every change is appended to, the checkpoint that
 * replaces the journals before it, the flush protocol that makes writes durable, and the policy
 * that rotates journals (with the {@link Checkpointer} thread).
 */
final class MetaStore {

    private final EngineState state;
    /** Replaced only under the exclusive lock; volatile for the checkpointer, which reads its size. */
    private volatile Journal journal;
    /** The current journal's generation; changes only under {@code checkpointing} and the exclusive lock. */
    private long generation;
    /** The generation the checkpoint file on disk names; journals older than it are retired. */
    private long checkpointed;
    /** One checkpoint at a time (the checkpointer's, an explicit call's, close's). */
    private final ReentrantLock checkpointing = new ReentrantLock();
    /**
     * The snapshot of a checkpoint that switched to journal {@code generation} but failed to write
     * its file, or null. Under {@code checkpointing}: the next checkpoint writes it before switching
     * again, so a checkpoint that keeps failing leaves two journals, not one more per retry.
     */
    private Checkpoint.@Nullable Snapshot unwritten;
    /** Why the last checkpoint failed; null once one succeeds (or before any fails). */
    private volatile @Nullable Throwable checkpointFailure;

    private final Checkpointer checkpointer;

    /** Starts journal {@code generation}, which the checkpoint on disk names. */
    MetaStore(EngineState state, long generation) throws IOException {
        this.state = state;
        this.checkpointer = new Checkpointer(state.config, () -> this.journal, this::checkpoint);
        this.journal = newJournal(generation);
        this.generation = generation;
        this.checkpointed = generation;
    }

    void startCheckpointer() {
        checkpointer.start();
    }

    /** The journal appends go to. Read it under the engine lock, which keeps it current. */
    Journal journal() {
        return journal;
    }

    /** An empty journal of that generation, which asks for a checkpoint once it is full. */
    private Journal newJournal(long generation) throws IOException {
        return Journal.create(
                Journal.path(state.dir, generation), state.config.checkpointJournalBytes(), checkpointer::wake);
    }

    /** See {@link ChunkEngine#flush}. */
    void flush(long lcId) {
        Lock l = state.shared();
        try {
            state.flushes.increment();
            Lc lc = state.lc(lcId);
            state.durability.checkWritable();
            flushLcs(List.of(lc));
        } catch (IOException e) {
            throw IoFailure.of("flush lc " + lcId, e);
        } finally {
            l.unlock();
        }
        checkpointer.awaitIfOverdue();
    }

    /** See {@link ChunkEngine#flushAll}. */
    void flushAll() {
        Lock l = state.shared();
        try {
            state.flushes.increment();
            state.durability.checkWritable();
            flushLcs(new ArrayList<>(state.lcs.values()));
        } catch (IOException e) {
            throw IoFailure.of("flush", e);
        } finally {
            l.unlock();
        }
        checkpointer.awaitIfOverdue();
    }

    /**
     * The flush protocol: for each lc, capture (under each segment's lock) the CRCs of the segments
     * changed since the last flush, fsync the lc's data file, append a flush record naming them;
     * then fsync the journal once. Flushes of one lc are serialized so that their records appear in
     * capture order. If anything fails, the captured segments go back to pending. Under the engine
     * lock.
     */
    void flushLcs(List<Lc> toFlush) throws IOException {
        // A flush record must not reach the disk before the name of the file whose segments it
        // confirms, and an appended record may reach it before the journal is forced (the page cache
        // writes back when it likes): the directory is forced before the appends. Once for the files
        // made before this flush; again only for one made since.
        List<Lc> newNames = toFlush.stream().filter(Lc::nameUnsynced).toList();
        if (!newNames.isEmpty()) {
            state.durability.forceDirectory(state.dir);
            newNames.forEach(Lc::nameSynced);
        }
        for (Lc lc : toFlush) {
            lc.flushLock.lock();
            List<JournalRecord.FlushedSegment> captured = new ArrayList<>();
            try {
                for (Long key : lc.pending.keySet().toArray(new Long[0])) {
                    long pc = Layout.pcOf(key);
                    int s = Layout.segmentOf(key);
                    StampedLock stripe = state.stripes.of(lc.id, pc, s);
                    long stamp = stripe.readLock();
                    try {
                        Long lsn = lc.pending.remove(key);
                        PcMeta meta = lc.pcs.get(pc);
                        if (lsn != null && meta != null && meta.state(s) == PcMeta.DATA) {
                            captured.add(new JournalRecord.FlushedSegment(
                                    pc, s, lsn, meta.crcs(s).clone()));
                        }
                    } finally {
                        stripe.unlockRead(stamp);
                    }
                }
                if (!captured.isEmpty()) {
                    state.durability.force(lc.channel(), false, "lc " + lc.id);
                    if (lc.nameUnsynced()) {
                        state.durability.forceDirectory(state.dir);
                        lc.nameSynced();
                    }
                    for (JournalRecord.Flush part :
                            JournalRecord.Flush.split(lc.id, captured, JournalRecord.Flush.MAX_SEGMENTS)) {
                        journal.append(part);
                    }
                }
            } catch (IOException | RuntimeException e) {
                for (JournalRecord.FlushedSegment f : captured) {
                    lc.pending.putIfAbsent(Lc.segmentKey(f.pcIndex(), f.segment()), f.markLsn());
                }
                throw e;
            } finally {
                lc.flushLock.unlock();
            }
        }
        journal.force(state.durability);
    }

    /**
     * Writes the metadata to a new checkpoint and starts a new journal, so that the next open
     * replays only what follows. I/O goes on meanwhile except for one short exclusive step:
     *
     * <ol>
     *   <li>flush every lc with pending writes, under the shared lock (the bulk of the fsyncs);
     *   <li>create journal {@code g+1} and fsync the directory;
     *   <li>exclusively: flush what was written since step 1 (nothing is pending afterwards), take a
     *       {@link Checkpoint.Snapshot} of the metadata and switch appends to journal {@code g+1};
     *   <li>with no engine lock: write the snapshot as the checkpoint naming {@code g+1} (tmp, fsync,
     *       rename, fsync the directory), then delete the journals it replaces.
     * </ol>
     *
     * A crash before step 4's rename leaves the old checkpoint, journal {@code g} (complete: step 3
     * forced it) and journal {@code g+1}; {@code open} replays both in order.
     */
    void checkpoint() {
        checkpointing.lock();
        try {
            state.durability.checkWritable();
            checkpointOnce();
            checkpointSucceeded();
        } catch (EngineClosedException | EngineReadOnlyException e) {
            // closed: nothing to report; read-only: Durability reported it once, and it lasts
            throw e;
        } catch (IOException e) {
            RuntimeException failure = IoFailure.of("checkpoint", e);
            checkpointFailed(failure);
            throw failure;
        } catch (RuntimeException | Error e) {
            checkpointFailed(e);
            throw e;
        } finally {
            checkpointing.unlock();
        }
    }

    /** Under {@code checkpointing}. Every failure is logged: the node keeps working while they last. */
    private void checkpointFailed(Throwable failure) {
        checkpointFailure = failure;
        EngineState.LOG.log(
                System.Logger.Level.WARNING,
                "checkpoint of " + state.dir + " failed; journals " + checkpointed + " to " + generation
                        + " are kept and replayed on open until one succeeds",
                failure);
    }

    /** Under {@code checkpointing}. */
    private void checkpointSucceeded() {
        if (checkpointFailure != null) {
            checkpointFailure = null;
            EngineState.LOG.log(System.Logger.Level.INFO, "checkpoint of " + state.dir + " succeeded after failures");
        }
    }

    /** Why the last checkpoint failed, or null if it succeeded (or none failed yet). */
    @Nullable
    Throwable lastCheckpointFailure() {
        return checkpointFailure;
    }

    private void checkpointOnce() throws IOException {
        Checkpoint.Snapshot pending = unwritten;
        if (pending != null) {
            // the last switch's checkpoint never reached the disk: write it before switching again
            writeCheckpoint(pending, generation);
        }
        Lock l = state.shared();
        try {
            flushLcs(withPendingWrites());
        } finally {
            l.unlock();
        }
        long next = generation + 1;
        Journal fresh = newJournal(next);
        Checkpoint.Snapshot snapshot;
        Journal old;
        try {
            state.durability.forceDirectory(state.dir);
            Lock x = state.exclusive();
            try {
                flushLcs(withPendingWrites());
                snapshot = Checkpoint.snapshot(state.lcs.values());
                old = journal;
                journal = fresh;
                generation = next;
            } finally {
                x.unlock();
            }
        } catch (Throwable e) {
            try {
                fresh.close();
                Files.deleteIfExists(Journal.path(state.dir, next));
            } catch (Throwable cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        unwritten = snapshot;
        // forced by step 3, and no one appends to it any more: a create still forcing it returns at once
        old.close();
        writeCheckpoint(snapshot, next);
    }

    /** Step 4: writes {@code snapshot} as the checkpoint naming the current journal {@code next}. */
    private void writeCheckpoint(Checkpoint.Snapshot snapshot, long next) throws IOException {
        snapshot.write(state.dir, next, state.durability);
        unwritten = null;
        for (long g = checkpointed; g < next; g++) {
            Files.deleteIfExists(Journal.path(state.dir, g));
        }
        checkpointed = next;
    }

    /** The lcs with writes not yet flushed. Under the engine lock. */
    private List<Lc> withPendingWrites() {
        List<Lc> pending = new ArrayList<>();
        for (Lc lc : state.lcs.values()) {
            if (!lc.pending.isEmpty()) {
                pending.add(lc);
            }
        }
        return pending;
    }

    /**
     * Closes the engine: flushes, writes a checkpoint (so the next open replays nothing), closes
     * every file and releases the directory. Once only; later calls return at once.
     */
    void close(DirectoryLock directory) {
        checkpointer.close();
        checkpointing.lock();
        Lock x = state.exclusiveEvenIfClosed();
        try {
            if (!state.markClosed()) {
                return;
            }
            try {
                // read-only: a checkpoint would make durable a state that the disk may not have
                if (state.durability.readOnlyReason() == null) {
                    // the same steps as a checkpoint, all exclusive: nothing runs any more
                    flushLcs(new ArrayList<>(state.lcs.values()));
                    journal.close();
                    Journal.create(Journal.path(state.dir, generation + 1)).close();
                    Checkpoint.write(state.dir, generation + 1, state.lcs.values(), state.durability);
                    for (long g = checkpointed; g <= generation; g++) {
                        Files.deleteIfExists(Journal.path(state.dir, g));
                    }
                }
            } finally {
                for (Lc lc : state.lcs.values()) {
                    EngineState.closeQuietly(lc::close);
                }
                EngineState.closeQuietly(journal);
                directory.close();
            }
        } catch (IOException e) {
            throw IoFailure.of("close", e);
        } finally {
            x.unlock();
            checkpointing.unlock();
        }
    }
}
