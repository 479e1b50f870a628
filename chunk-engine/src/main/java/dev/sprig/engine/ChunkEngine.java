package dev.sprig.engine;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.concurrent.locks.StampedLock;
import java.util.stream.LongStream;
import java.util.zip.CRC32C;
import org.jspecify.annotations.Nullable;

/**
 * The chunk engine: lcs stored as sparse local files, 4 MiB PCs with a 16-bit bitmap of 256 KiB
 * segments, redirect-on-write, CRC32C on every stored block, crash-safe metadata.
 *
 * <p><b>Model.</b> A read of a segment returns the bytes of the nearest lc in the chain (the lc, its
 * parent, ...) whose bitmap bit is set, or zeros. A write to a segment whose bit is clear
 * redirects: the whole segment (client bytes merged over what the chain returns) is written into
 * the lc, then the bit is set. A write to an owned segment is done in place. Only frozen lcs can
 * have children, so every ancestor is immutable.
 *
 * <p><b>Crash safety.</b> Data goes to the lc's data file first, metadata to the journal after it
 * (a redirect's record carries the new CRCs); an in-place rewrite appends a "dirty" record before
 * it touches the data. {@link #flush} fsyncs the data file, then appends a flush record naming the
 * CRCs of everything it covered, then fsyncs the journal. Recovery trusts only what a flush record
 * confirms; see {@code Recovery} and {@code storage-node/README.md}.
 *
 * <p><b>Concurrency.</b> All methods are thread-safe. Reads and writes take a shared engine lock
 * and a striped per-segment lock of the writable lc they touch; lineage changes (create, freeze,
 * delete, grow, the end of flatten) and checkpoints take the engine lock exclusively, which waits
 * for in-flight I/O. Reads from frozen ancestors take no lock.
 */
public final class ChunkEngine implements AutoCloseable {

    /** Bytes in a PC: the unit of placement. */
    public static final long PC_SIZE = Layout.PC_SIZE;
    /** Bytes in a segment: the unit of redirection. */
    public static final int SEGMENT_SIZE = Layout.SEGMENT_SIZE;
    /**
     * The largest lc (64 TiB, 16,777,216 PCs). Nothing in the engine walks an lc by its declared
     * size, but sizes are bounded all the same, so that no request can declare an address space
     * whose offsets overflow or whose clients' own per-PC work could exhaust them.
     */
    public static final long MAX_SIZE = Layout.MAX_SIZE;

    private static final ByteBuffer ZEROS =
            ByteBuffer.allocateDirect(Layout.SEGMENT_SIZE).asReadOnlyBuffer();
    /** The name a staging file ends with; {@link #open} removes any it finds. */
    /** The JDK's logger, so that the engine needs no logging library; Spring routes it to SLF4J. */
    private static final System.Logger LOG = System.getLogger(ChunkEngine.class.getName());

    private static final String STAGING_SUFFIX = ".staging";

    private static final String DIRECT_IO_PROBE = "direct-io.probe";
    /** Threads reading and checksumming a file being adopted. */
    private static final int ADOPT_READERS = 2;
    /** Their threads, shared by all engines of the process and gone when idle. */
    private static final ExecutorService ADOPTERS = new ThreadPoolExecutor(
            0,
            16,
            10,
            TimeUnit.SECONDS,
            new SynchronousQueue<>(),
            work -> {
                Thread thread = new Thread(work, "engine-adopt");
                thread.setDaemon(true);
                return thread;
            },
            // past that many at once, a caller reads its file itself
            new ThreadPoolExecutor.CallerRunsPolicy());
    /** The least alignment of direct I/O's buffers, offsets and lengths: a page. */
    private static final int PAGE = 4096;

    private static final ThreadLocal<ByteBuffer> WRITE_SCRATCH =
            ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(Layout.SEGMENT_SIZE));
    /** Written with the bytes {@code readMapped} touches, so that the JIT keeps those loads. */
    @SuppressWarnings("unused")
    private static int touchSink;

    private static final ThreadLocal<ByteBuffer> READ_SCRATCH =
            ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(Layout.SEGMENT_SIZE));

    private final Path dir;
    private final EngineConfig config;
    private final FileChannel lockChannel;
    private final FileLock dirLock;
    private final ReentrantReadWriteLock engineLock = new ReentrantReadWriteLock();
    private final SegmentLocks stripes = new SegmentLocks();
    private final LongAdder redirects = new LongAdder();
    private final LongAdder flushes = new LongAdder();
    private final ConcurrentHashMap<Long, Lc> lcs;
    private final Durability durability;
    private final ResolvedPcs resolvedPcs = new ResolvedPcs(ResolvedPcs.DEFAULT_ENTRIES);
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
    private boolean closed;
    /** Whether direct I/O is configured and the file system of {@code dir} allows it. */
    private final boolean directIo;
    /** What direct I/O in {@code dir} aligns to: a page, or the file system's block if larger. */
    private final int directIoAlignment;

    private ChunkEngine(
            Path dir,
            EngineConfig config,
            FileChannel lockChannel,
            FileLock dirLock,
            Map<Long, Lc> lcs,
            long generation,
            int directIoAlignment,
            Durability durability)
            throws IOException {
        this.dir = dir;
        this.durability = durability;
        this.directIo = directIoAlignment > 0;
        this.directIoAlignment = Math.max(PAGE, directIoAlignment);
        this.config = config;
        this.lockChannel = lockChannel;
        this.dirLock = dirLock;
        this.lcs = new ConcurrentHashMap<>(lcs);
        this.checkpointer = new Checkpointer(config, () -> this.journal, this::checkpoint);
        this.journal = newJournal(generation);
        this.generation = generation;
        this.checkpointed = generation;
    }

    /** An empty journal of that generation, which asks for a checkpoint once it is full. */
    private Journal newJournal(long generation) throws IOException {
        return Journal.create(Journal.path(dir, generation), config.checkpointJournalBytes(), checkpointer::wake);
    }

    public static ChunkEngine open(Path dir) {
        return open(dir, EngineConfig.defaults());
    }

    /**
     * Opens (creating if needed) the engine stored in {@code dir} and recovers it: loads the
     * checkpoint, replays the journal, settles unflushed segments, fsyncs what it settled, writes a
     * fresh checkpoint and removes files that no lc owns. Only one engine may use a directory.
     */
    public static ChunkEngine open(Path dir, EngineConfig config) {
        return open(dir, config, Fsync.SYSTEM);
    }

    /** {@link #open(Path, EngineConfig)} with another fsync, for tests that make it fail. */
    static ChunkEngine open(Path dir, EngineConfig config, Fsync fsync) {
        Durability durability = new Durability(fsync);
        FileChannel lockChannel = null;
        try {
            Files.createDirectories(dir);
            lockChannel =
                    FileChannel.open(dir.resolve("engine.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = lockChannel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                throw new IOException("directory is in use by another engine");
            }
            Checkpoint.Loaded loaded = Checkpoint.read(dir);
            Map<Long, Lc> lcs = loaded.lcs();
            Recovery recovery = new Recovery(dir, lcs);
            Recovery.Replayed replayed = recovery.replayJournals(loaded.journalGeneration());
            Set<Lc> settled = recovery.settle();
            for (Lc lc : settled) {
                if (Files.exists(lc.file)) {
                    durability.force(lc.channel(), false, "lc " + lc.id);
                }
            }
            long generation = loaded.journalGeneration();
            boolean fresh = !Files.exists(dir.resolve(Checkpoint.FILE));
            if (fresh || replayed.anything()) {
                // past every journal replayed, so that none of them is continued
                generation = replayed.lastGeneration() + 1;
                Checkpoint.write(dir, generation, lcs.values(), durability);
            }
            removeStrayFiles(dir, lcs.keySet(), generation);
            ChunkEngine engine = new ChunkEngine(
                    dir,
                    config,
                    lockChannel,
                    lock,
                    lcs,
                    generation,
                    config.directIo() ? directIoAlignment(dir) : 0,
                    durability);
            durability.forceDirectory(dir);
            engine.checkpointer.start();
            return engine;
        } catch (IOException e) {
            closeQuietly(lockChannel);
            throw IoFailure.of("open " + dir, e);
        } catch (RuntimeException e) {
            closeQuietly(lockChannel);
            throw e;
        }
    }

    // ---------------------------------------------------------------- lineage

    /** Creates a root lc (no parent) of {@code sizeBytes}, all zeros. Durable on return. */
    public void create(long lcId, long sizeBytes) {
        createAll(List.of(NewLc.root(lcId, sizeBytes)));
    }

    /** Creates a child of the frozen lc {@code parentLcId} with the parent's size. */
    public void createChild(long lcId, long parentLcId) {
        long parentSize;
        Lock l = shared();
        try {
            parentSize = lc(parentLcId).size;
        } finally {
            l.unlock();
        }
        // a frozen parent never changes size; a writable one is refused by createAll
        createAll(List.of(NewLc.child(lcId, parentLcId, parentSize)));
    }

    /**
     * Creates a child of the frozen lc {@code parentLcId}, at least as large as the parent (the part
     * past the parent's end reads as zeros). Durable on return.
     */
    public void createChild(long lcId, long parentLcId, long sizeBytes) {
        createAll(List.of(NewLc.child(lcId, parentLcId, sizeBytes)));
    }

    /**
     * Creates every lc of the batch, in order, freezing those marked frozen (so a batch can define an
     * image and its clones). All or nothing: the whole batch is checked against the engine and
     * itself first, and if any entry is refused (its exception is thrown) nothing changes. Otherwise
     * the batch is one journal record, forced once, so it is durable on return and a crash at any
     * moment leaves either none or all of it. At most 1,048,576 lcs per batch.
     *
     * @throws LcExistsException an id exists in the engine or appears twice in the batch
     * @throws UnknownLcException a parent is neither in the engine nor earlier in the batch
     * @throws ParentNotFrozenException a parent is writable (or not marked frozen in the batch)
     * @throws OutOfRangeException a negative id, a non-positive size, a child smaller than its parent
     *     or a batch that is too large
     */
    public void createAll(List<NewLc> batch) {
        Journal appendedTo;
        List<Lc> created;
        Lock l = exclusive();
        try {
            durability.checkWritable();
            appendedTo = journal;
            created = createAllLocked(List.copyOf(batch));
        } finally {
            l.unlock();
        }
        // Forced outside the lock, so that concurrent creates share one fsync instead of queueing
        // for one each. Until this returns, only the caller knows the new ids, so no one can use an
        // lc that is not yet durable; a child's record comes after its parent's in the journal.
        try {
            appendedTo.force(durability);
        } catch (RuntimeException e) {
            forget(created);
            throw e;
        }
    }

    /**
     * Unregisters lcs whose creation was not made durable, so that memory holds no lc the disk may
     * not have. The engine is read-only by then, so nothing else has used them.
     */
    private void forget(List<Lc> created) {
        engineLock.writeLock().lock();
        try {
            for (int i = created.size() - 1; i >= 0; i--) {
                Lc lc = created.get(i);
                Lc parent = lc.parent;
                if (lcs.remove(lc.id, lc) && parent != null) {
                    parent.children--;
                }
            }
        } finally {
            engineLock.writeLock().unlock();
        }
    }

    /** Checks and registers the batch, appending its record to the journal; the lcs it created. */
    private List<Lc> createAllLocked(List<NewLc> batch) {
        List<Lc> created = checkBatch(batch);
        if (created.isEmpty()) {
            return created;
        }
        try {
            for (Lc lc : created) {
                // a new lc starts from an empty sparse file; one left by a deleted lc with this id
                // (an unlink that failed) would hold stale bytes and space
                Files.deleteIfExists(lc.file);
            }
            journal.append(new JournalRecord.CreateAll(batch));
        } catch (IOException e) {
            throw IoFailure.of("create " + batch.size() + " lcs", e);
        }
        for (Lc lc : created) {
            Lc parent = lc.parent;
            if (parent != null) {
                parent.children++;
            }
            lcs.put(lc.id, lc);
        }
        return created;
    }

    /**
     * Builds the lcs of a batch without registering them anywhere, so that a refused entry leaves the
     * engine as it was. A parent may be an earlier entry, which is why entries become {@code Lc}s
     * one by one.
     */
    private List<Lc> checkBatch(List<NewLc> batch) {
        if (batch.size() > JournalRecord.CreateAll.MAX_LCS) {
            throw new OutOfRangeException(
                    "batch of " + batch.size() + " lcs exceeds " + JournalRecord.CreateAll.MAX_LCS);
        }
        Map<Long, Lc> added = new HashMap<>();
        List<Lc> created = new ArrayList<>(batch.size());
        for (NewLc n : batch) {
            if (n.lcId() < 0) {
                throw new OutOfRangeException("lc id must not be negative: " + n.lcId());
            }
            checkSize(n.sizeBytes());
            if (lcs.containsKey(n.lcId()) || added.containsKey(n.lcId())) {
                throw new LcExistsException(n.lcId());
            }
            Lc parent = null;
            Long parentId = n.parentLcId();
            if (parentId != null) {
                parent = added.get(parentId);
                parent = parent != null ? parent : lc(parentId);
                if (!parent.frozen) {
                    throw new ParentNotFrozenException(parent.id);
                }
                if (n.sizeBytes() < parent.size) {
                    throw new OutOfRangeException(
                            "child size " + n.sizeBytes() + " is smaller than parent size " + parent.size);
                }
            }
            // a new lc has no data, so freezing it needs no flush: it is simply created frozen
            Lc lc = new Lc(n.lcId(), dir, parent, n.sizeBytes(), n.frozen());
            added.put(lc.id, lc);
            created.add(lc);
        }
        return created;
    }

    private static void checkSize(long sizeBytes) {
        if (sizeBytes <= 0 || sizeBytes > Layout.MAX_SIZE) {
            throw new OutOfRangeException(
                    "size must be between 1 and " + Layout.MAX_SIZE + " bytes (64 TiB): " + sizeBytes);
        }
    }

    /**
     * Makes the lc read-only, after flushing it, so that it can have children. Idempotent. A frozen
     * lc never changes again.
     */
    public void freeze(long lcId) {
        Lock l = exclusive();
        try {
            Lc lc = lc(lcId);
            if (lc.frozen) {
                return;
            }
            durability.checkWritable();
            flushLcs(List.of(lc));
            journal.append(new JournalRecord.Freeze(lcId));
            journal.force(durability);
            lc.frozen = true;
        } catch (IOException e) {
            throw IoFailure.of("freeze lc " + lcId, e);
        } finally {
            l.unlock();
        }
    }

    /** Deletes an lc and its data file; refused while other lcs read through it. */
    public void delete(long lcId) {
        Lock l = exclusive();
        try {
            Lc lc = lc(lcId);
            if (lc.children > 0) {
                throw new LcHasChildrenException(lcId, lc.children);
            }
            durability.checkWritable();
            journal.append(new JournalRecord.Delete(lcId));
            journal.force(durability);
            lcs.remove(lcId);
            Lc parent = lc.parent;
            if (parent != null) {
                parent.children--;
            }
            lc.closeAndDelete();
        } catch (IOException e) {
            throw IoFailure.of("delete lc " + lcId, e);
        } finally {
            l.unlock();
        }
    }

    /** Grows a writable lc; the new space reads as zeros. */
    public void grow(long lcId, long newSizeBytes) {
        Lock l = exclusive();
        try {
            checkSize(newSizeBytes);
            Lc lc = writable(lcId, "grow");
            if (newSizeBytes < lc.size) {
                throw new OutOfRangeException("cannot shrink lc " + lcId + " from " + lc.size + " to " + newSizeBytes);
            }
            durability.checkWritable();
            journal.append(new JournalRecord.Grow(lcId, newSizeBytes));
            journal.force(durability);
            lc.size = newSizeBytes;
        } catch (IOException e) {
            throw IoFailure.of("grow lc " + lcId, e);
        } finally {
            l.unlock();
        }
    }

    /**
     * Copies every segment the writable lc still reads from its ancestors into the lc itself, then
     * detaches it from its parent. Only the PCs some ancestor stores something in are visited, so
     * the work follows the data, not the declared size: a 64 TiB lc over a small image is flattened
     * as fast as a small one. Reads and writes of the lc may run concurrently: a segment is
     * copied under its segment lock only if it is still unowned, so a concurrent write either
     * happened first (and the copy is skipped) or lands on the copied segment. The detach happens
     * after a flush, under the exclusive engine lock, so it is durable and never observed half done.
     * Progress counts those PCs; a {@code progress} that throws stops the flatten there, leaving
     * the lc attached (what was copied already stays: it reads the same).
     */
    public void flatten(long lcId, FlattenProgress progress) {
        LcInfo info = info(lcId);
        if (info.frozen()) {
            throw new FrozenLcException(lcId, "flatten");
        }
        // refused up front, as every change is, even when there turns out to be nothing to copy
        durability.checkWritable();
        long[] pcs = ancestorPcs(lcId);
        for (int i = 0; i < pcs.length; i++) {
            long pc = pcs[i];
            Lock l = shared();
            try {
                Lc lc = writable(lcId, "flatten");
                durability.checkWritable();
                Lc parent = lc.parent;
                if (parent == null) {
                    break;
                }
                ResolvedPc source = resolvedPcs.of(parent, pc);
                for (int s = 0; s < Layout.SEGMENTS_PER_PC; s++) {
                    Lc owner = source.owners()[s];
                    if (owner != null) {
                        copyFromAncestor(lc, pc, s, owner, Objects.requireNonNull(source.crcs()[s]));
                    }
                }
            } catch (IOException e) {
                throw IoFailure.of("flatten lc " + lcId, e);
            } finally {
                l.unlock();
            }
            progress.pcDone(i + 1, pcs.length);
        }
        Lock l = exclusive();
        try {
            Lc lc = writable(lcId, "flatten");
            Lc parent = lc.parent;
            if (parent == null) {
                return;
            }
            durability.checkWritable();
            flushLcs(List.of(lc));
            journal.append(new JournalRecord.Flatten(lcId));
            journal.force(durability);
            parent.children--;
            lc.parent = null;
        } catch (IOException e) {
            throw IoFailure.of("flatten lc " + lcId, e);
        } finally {
            l.unlock();
        }
    }

    /**
     * The PCs, in order, that some ancestor of the writable lc has metadata for: the only ones a
     * flatten can have anything to copy in (any other PC reads as zeros from every ancestor).
     * Ancestors are frozen, so their PC maps no longer change.
     */
    long[] ancestorPcs(long lcId) {
        Lock l = shared();
        try {
            return pcsOf(lc(lcId).parent);
        } finally {
            l.unlock();
        }
    }

    /**
     * The PCs, in order, that the lc or one of its ancestors has metadata for: every other PC of the
     * lc reads as zeros, so a copy of the lc need visit only these (a superset of the PCs that hold
     * data: a PC whose segments were all zeroed is listed too). Advisory for a writable lc, like any
     * block status: a write racing the call may or may not be seen.
     */
    public long[] pcsWithData(long lcId) {
        Lock l = shared();
        try {
            return pcsOf(lc(lcId));
        } finally {
            l.unlock();
        }
    }

    private static long[] pcsOf(@Nullable Lc from) {
        LongStream.Builder pcs = LongStream.builder();
        for (Lc at = from; at != null; at = at.parent) {
            at.pcs.keySet().forEach(pcs::add);
        }
        return pcs.build().sorted().distinct().toArray();
    }

    private void copyFromAncestor(Lc lc, long pc, int s, Lc owner, int[] ownerCrcs) throws IOException {
        StampedLock stripe = stripes.of(lc.id, pc, s);
        long stamp = stripe.writeLock();
        try {
            PcMeta meta = lc.pcForWrite(pc);
            if (meta.state(s) != PcMeta.UNOWNED) {
                return;
            }
            ByteBuffer segment = WRITE_SCRATCH.get().clear();
            readStored(owner, pc, s, ownerCrcs, 0, segment);
            materialize(lc, meta, pc, s, segment.clear(), ownerCrcs.clone());
        } finally {
            stripe.unlockWrite(stamp);
        }
    }

    public LcInfo info(long lcId) {
        Lock l = shared();
        try {
            return infoOf(lc(lcId));
        } finally {
            l.unlock();
        }
    }

    /** Every lc, sorted by id. */
    public List<LcInfo> list() {
        Lock l = shared();
        try {
            List<LcInfo> all = new ArrayList<>();
            for (Lc lc : lcs.values()) {
                all.add(infoOf(lc));
            }
            all.sort(Comparator.comparingLong(LcInfo::lcId));
            return all;
        } finally {
            l.unlock();
        }
    }

    private static LcInfo infoOf(Lc lc) {
        Lc parent = lc.parent;
        return new LcInfo(
                lc.id,
                parent != null ? OptionalLong.of(parent.id) : OptionalLong.empty(),
                lc.size,
                lc.frozen,
                lc.children);
    }

    /**
     * The origin and depth of every segment of a range, as consecutive extents (neighbours alike
     * merged; the first and last cut to the range). Advisory, like any block status: a write racing
     * the call may or may not be seen.
     */
    public List<Extent> allocation(long lcId, long offset, long length) {
        Lock l = shared();
        try {
            Lc lc = lc(lcId);
            checkRange(lc, offset, length);
            List<Extent> extents = new ArrayList<>();
            long end = offset + length;
            long start = offset;
            SegmentOrigin current = null;
            int currentDepth = -1;
            for (long pos = offset; pos < end; ) {
                long segNo = pos >>> Layout.SEGMENT_SHIFT;
                long pc = segNo >>> 4;
                int s = (int) (segNo & 15);
                SegmentOrigin origin = originOf(lc, pc, s);
                int depth = depthOf(lc, pc, s, origin);
                if (origin != current || depth != currentDepth) {
                    if (current != null) {
                        extents.add(new Extent(start, pos - start, current, currentDepth));
                    }
                    current = origin;
                    currentDepth = depth;
                    start = pos;
                }
                pos = Math.min(end, (segNo + 1) << Layout.SEGMENT_SHIFT);
            }
            if (current != null) {
                extents.add(new Extent(start, end - start, current, currentDepth));
            }
            return extents;
        } finally {
            l.unlock();
        }
    }

    /** The parent of an lc is frozen, so its resolved PC is settled and cached. */
    private SegmentOrigin originOf(Lc lc, long pc, int s) {
        PcMeta meta = lc.pcs.get(pc);
        byte state = meta != null ? meta.state(s) : PcMeta.UNOWNED;
        if (state == PcMeta.DATA) {
            return SegmentOrigin.WRITTEN;
        }
        if (state == PcMeta.ZERO) {
            return SegmentOrigin.ZEROED;
        }
        Lc parent = lc.parent;
        if (parent == null) {
            return SegmentOrigin.UNWRITTEN;
        }
        ResolvedPc resolved = resolvedPcs.of(parent, pc);
        return resolved.owners()[s] != null && resolved.crcs()[s] != null
                ? SegmentOrigin.INHERITED
                : SegmentOrigin.UNWRITTEN;
    }

    /**
     * How far up the chain the segment's bytes come from. Block status only: it walks the chain
     * from the lc to the owner (a read never does; see invariant 6).
     */
    private int depthOf(Lc lc, long pc, int s, SegmentOrigin origin) {
        return switch (origin) {
            case WRITTEN, ZEROED -> 1;
            case UNWRITTEN -> 0;
            case INHERITED -> {
                Lc parent = lc.parent;
                Lc owner = parent != null ? resolvedPcs.of(parent, pc).owners()[s] : null;
                int depth = 2;
                for (Lc at = parent; at != null && at != owner; at = at.parent) {
                    depth++;
                }
                yield depth;
            }
        };
    }

    // ---------------------------------------------------------------- data path

    /**
     * Reads {@code dst.remaining()} bytes at {@code offset} into {@code dst} and advances its
     * position. Every stored block is checked against its CRC32C first.
     *
     * @throws CorruptionException if a block does not match (dst then holds partial data)
     */
    public void read(long lcId, long offset, ByteBuffer dst) {
        Lock l = shared();
        try {
            Lc lc = lc(lcId);
            checkRange(lc, offset, dst.remaining());
            long pos = offset;
            while (dst.hasRemaining()) {
                int inSegment = (int) (pos & (Layout.SEGMENT_SIZE - 1));
                int n = Math.min(dst.remaining(), Layout.SEGMENT_SIZE - inSegment);
                long segNo = pos >>> Layout.SEGMENT_SHIFT;
                readSegment(lc, segNo >>> 4, (int) (segNo & 15), inSegment, dst.slice(dst.position(), n));
                dst.position(dst.position() + n);
                pos += n;
            }
        } catch (IOException e) {
            throw new EngineIoException("read lc " + lcId, e);
        } finally {
            l.unlock();
        }
    }

    public void read(long lcId, long offset, byte[] dst, int dstOffset, int length) {
        read(lcId, offset, ByteBuffer.wrap(dst, dstOffset, length));
    }

    public byte[] read(long lcId, long offset, int length) {
        if (length < 0) {
            throw new OutOfRangeException("negative length " + length);
        }
        byte[] bytes = new byte[length];
        read(lcId, offset, ByteBuffer.wrap(bytes));
        return bytes;
    }

    /**
     * Reads part of one segment. For a writable lc the segment's state and CRCs are first read
     * optimistically (no lock write at all); if a writer took the segment's lock meanwhile, the
     * result, including any CRC mismatch, is discarded and the read is repeated under the lock. A
     * mismatch is reported only when no writer interfered, so it is real damage.
     */
    private void readSegment(Lc lc, long pc, int s, int inSegment, ByteBuffer piece) throws IOException {
        if (lc.frozen) {
            readResolved(resolvedPcs.of(lc, pc), pc, s, inSegment, piece);
            return;
        }
        StampedLock stripe = stripes.of(lc.id, pc, s);
        long optimistic = stripe.tryOptimisticRead();
        if (optimistic != 0) {
            try {
                if (readOwned(lc, pc, s, inSegment, piece) && stripe.validate(optimistic)) {
                    return;
                }
                if (stripe.validate(optimistic)) {
                    readFromParent(lc, pc, s, inSegment, piece);
                    return;
                }
            } catch (CorruptionException | IllegalStateException e) {
                if (stripe.validate(optimistic)) {
                    throw e;
                }
            }
        }
        long stamp = stripe.readLock();
        try {
            if (readOwned(lc, pc, s, inSegment, piece)) {
                return;
            }
        } finally {
            stripe.unlockRead(stamp);
        }
        readFromParent(lc, pc, s, inSegment, piece);
    }

    /** Reads the segment if this lc owns it (data or zeros) and returns true; false if unowned. */
    private boolean readOwned(Lc lc, long pc, int s, int inSegment, ByteBuffer piece) throws IOException {
        PcMeta meta = lc.pcs.get(pc);
        byte state = meta != null ? meta.state(s) : PcMeta.UNOWNED;
        if (state == PcMeta.DATA) {
            readStored(lc, pc, s, meta.crcs(s), inSegment, piece);
            return true;
        }
        if (state == PcMeta.ZERO) {
            piece.put(0, ZEROS, 0, piece.remaining());
            return true;
        }
        return false;
    }

    /**
     * The parent is frozen and stays attached while the shared engine lock is held, so this needs
     * no segment lock: a concurrent redirect or flatten copy of this segment in the lc makes this
     * read the older, still valid, value.
     */
    private void readFromParent(Lc lc, long pc, int s, int inSegment, ByteBuffer piece) throws IOException {
        Lc parent = lc.parent;
        if (parent == null) {
            piece.put(0, ZEROS, 0, piece.remaining());
        } else {
            readResolved(resolvedPcs.of(parent, pc), pc, s, inSegment, piece);
        }
    }

    private void readResolved(ResolvedPc resolved, long pc, int s, int inSegment, ByteBuffer piece) throws IOException {
        Lc owner = resolved.owners()[s];
        int[] crcs = resolved.crcs()[s];
        if (owner == null || crcs == null) {
            piece.put(0, ZEROS, 0, piece.remaining());
        } else {
            readStored(owner, pc, s, crcs, inSegment, piece);
        }
    }

    /**
     * Reads {@code piece.remaining()} bytes (piece's position must be 0) at {@code inSegment} of a
     * stored segment, verifying every 4 KiB block the range touches. Block-aligned reads into a
     * direct buffer land in place; others go through a scratch buffer.
     */
    private void readStored(Lc owner, long pc, int s, int[] crcs, int inSegment, ByteBuffer piece) throws IOException {
        int n = piece.remaining();
        int first = inSegment & -Layout.BLOCK_SIZE;
        int end = (inSegment + n + Layout.BLOCK_SIZE - 1) & -Layout.BLOCK_SIZE;
        long fileOffset = Layout.segmentOffset(pc, s) + first;
        MappedByteBuffer mapped = owner.frozen ? owner.region(fileOffset, end - first) : null;
        if (mapped != null) {
            readMapped(owner, pc, s, crcs, mapped, Lc.inRegion(fileOffset), inSegment, piece);
            return;
        }
        if (first == inSegment && end == inSegment + n && piece.isDirect()) {
            readFully(owner, fileOffset, piece.duplicate());
            verify(owner, pc, s, piece, n, crcs, first);
        } else {
            ByteBuffer scratch = READ_SCRATCH.get().clear().limit(end - first);
            readFully(owner, fileOffset, scratch.duplicate());
            verify(owner, pc, s, scratch, end - first, crcs, first);
            piece.put(0, scratch, inSegment - first, n);
        }
    }

    /**
     * Reads a stored range of a frozen lc from its mapping, without a system call: each 4 KiB block
     * is copied to {@code piece} (or, if the range covers it only in part, to a scratch block) and
     * its CRC computed over the copy while it is in L1, so the bytes checked are the bytes
     * returned. The next block's cache lines are touched first, so they load during the CRC.
     * {@code mapped[at]} is the first byte of the range's first block.
     *
     * <p>The CRC never reads the mapping itself: a page that cannot be read (an I/O error, a file
     * truncated behind the engine's back) raises SIGBUS, which the JVM turns into an
     * {@link InternalError} in a copy or a load, but which kills the process inside the CRC32C
     * intrinsic (JDK 17).
     */
    private static void readMapped(
            Lc owner, long pc, int s, int[] crcs, ByteBuffer mapped, int at, int inSegment, ByteBuffer piece) {
        int n = piece.remaining();
        int first = inSegment & -Layout.BLOCK_SIZE;
        int end = (inSegment + n + Layout.BLOCK_SIZE - 1) & -Layout.BLOCK_SIZE;
        CRC32C crc = new CRC32C();
        ByteBuffer checked = piece.duplicate(); // position and limit frame each block for the CRC
        ByteBuffer block = READ_SCRATCH.get().duplicate().clear().limit(Layout.BLOCK_SIZE);
        int touched = 0;
        for (int b = first; b < end; b += Layout.BLOCK_SIZE) {
            int src = at + b - first;
            if (b + Layout.BLOCK_SIZE < end) {
                for (int line = 0; line < Layout.BLOCK_SIZE; line += 64) {
                    touched += mapped.get(src + Layout.BLOCK_SIZE + line);
                }
            }
            int lo = Math.max(b, inSegment);
            int hi = Math.min(b + Layout.BLOCK_SIZE, inSegment + n);
            crc.reset();
            if (lo == b && hi == b + Layout.BLOCK_SIZE) {
                piece.put(b - inSegment, mapped, src, Layout.BLOCK_SIZE);
                crc.update(checked.limit(b - inSegment + Layout.BLOCK_SIZE).position(b - inSegment));
            } else {
                block.put(0, mapped, src, Layout.BLOCK_SIZE);
                crc.update(block.position(0));
            }
            if ((int) crc.getValue() != crcs[b >> Layout.BLOCK_SHIFT]) {
                throw new CorruptionException(
                        owner.id, pc, s, "block " + (b >> Layout.BLOCK_SHIFT) + " does not match its CRC32C");
            }
            if (lo != b || hi != b + Layout.BLOCK_SIZE) {
                piece.put(lo - inSegment, block, lo - b, hi - lo);
            }
        }
        touchSink = touched; // keeps the touching loads from being optimized away
    }

    private static void verify(Lc owner, long pc, int s, ByteBuffer buf, int length, int[] crcs, int firstByte) {
        int bad = BlockCrc.firstMismatch(buf, 0, length, crcs, firstByte >> Layout.BLOCK_SHIFT);
        if (bad >= 0) {
            throw new CorruptionException(owner.id, pc, s, "block " + bad + " does not match its CRC32C");
        }
    }

    private static void readFully(Lc lc, long position, ByteBuffer buf) throws IOException {
        FileChannel ch = lc.channel();
        long pos = position;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                while (buf.hasRemaining()) {
                    int zeros = Math.min(buf.remaining(), Layout.SEGMENT_SIZE);
                    buf.put(buf.position(), ZEROS, 0, zeros);
                    buf.position(buf.position() + zeros);
                }
                return;
            }
            pos += n;
        }
    }

    private static void writeFully(Lc lc, long position, ByteBuffer buf) throws IOException {
        FileChannel ch = lc.channel();
        long pos = position;
        while (buf.hasRemaining()) {
            pos += ch.write(buf, pos);
        }
    }

    /**
     * Writes {@code src.remaining()} bytes at {@code offset} and advances its position. On return
     * the bytes are visible to reads; they are durable after the next {@link #flush}.
     */
    public void write(long lcId, long offset, ByteBuffer src) {
        Lock l = shared();
        try {
            Lc lc = writable(lcId, "write");
            checkRange(lc, offset, src.remaining());
            durability.checkWritable();
            long pos = offset;
            while (src.hasRemaining()) {
                int inSegment = (int) (pos & (Layout.SEGMENT_SIZE - 1));
                int n = Math.min(src.remaining(), Layout.SEGMENT_SIZE - inSegment);
                long segNo = pos >>> Layout.SEGMENT_SHIFT;
                long pc = segNo >>> 4;
                int s = (int) (segNo & 15);
                StampedLock stripe = stripes.of(lc.id, pc, s);
                long stamp = stripe.writeLock();
                try {
                    writeSegment(lc, pc, s, inSegment, src.slice(src.position(), n));
                } finally {
                    stripe.unlockWrite(stamp);
                }
                src.position(src.position() + n);
                pos += n;
            }
        } catch (IOException e) {
            throw IoFailure.of("write lc " + lcId, e);
        } finally {
            l.unlock();
        }
    }

    public void write(long lcId, long offset, byte[] src) {
        write(lcId, offset, ByteBuffer.wrap(src));
    }

    public void write(long lcId, long offset, byte[] src, int srcOffset, int length) {
        write(lcId, offset, ByteBuffer.wrap(src, srcOffset, length));
    }

    /** Under the segment's write lock. {@code piece} has position 0. */
    private void writeSegment(Lc lc, long pc, int s, int inSegment, ByteBuffer piece) throws IOException {
        PcMeta meta = lc.pcForWrite(pc);
        if (meta.state(s) == PcMeta.DATA) {
            writeInPlace(lc, meta, pc, s, inSegment, piece);
        } else {
            redirect(lc, meta, pc, s, inSegment, piece);
        }
    }

    /**
     * Rewrites part of an owned segment. The dirty record goes to the journal before the data
     * changes, so recovery knows to recompute this segment's CRCs instead of reporting the unflushed
     * bytes as corruption. Partial 4 KiB blocks are merged with their (verified) old content.
     */
    private void writeInPlace(Lc lc, PcMeta meta, long pc, int s, int inSegment, ByteBuffer piece) throws IOException {
        long key = Lc.segmentKey(pc, s);
        if (!lc.pending.containsKey(key)) {
            long lsn = journal.append(new JournalRecord.Dirty(lc.id, pc, s));
            if (config.syncDirtyMarks()) {
                journal.force(durability);
            }
            lc.pending.put(key, lsn);
        }
        int[] crcs = meta.crcs(s);
        int n = piece.remaining();
        int first = inSegment & -Layout.BLOCK_SIZE;
        int end = (inSegment + n + Layout.BLOCK_SIZE - 1) & -Layout.BLOCK_SIZE;
        int[] fresh = new int[(end - first) >> Layout.BLOCK_SHIFT];
        long fileOffset = Layout.segmentOffset(pc, s) + first;
        if (first == inSegment && end == inSegment + n) {
            BlockCrc.ofBlocks(piece, 0, n, fresh, 0);
            writeFully(lc, fileOffset, piece.duplicate());
        } else {
            ByteBuffer scratch = WRITE_SCRATCH.get().clear().limit(end - first);
            if (first < inSegment) {
                readBlock(lc, pc, s, crcs, first, scratch, 0);
            }
            int lastBlock = end - Layout.BLOCK_SIZE;
            if (inSegment + n < end && !(first < inSegment && lastBlock == first)) {
                readBlock(lc, pc, s, crcs, lastBlock, scratch, lastBlock - first);
            }
            scratch.put(inSegment - first, piece, 0, n);
            BlockCrc.ofBlocks(scratch, 0, end - first, fresh, 0);
            writeFully(lc, fileOffset, scratch.duplicate());
        }
        System.arraycopy(fresh, 0, crcs, first >> Layout.BLOCK_SHIFT, fresh.length);
    }

    private void readBlock(Lc lc, long pc, int s, int[] crcs, int blockStart, ByteBuffer into, int at)
            throws IOException {
        ByteBuffer block = into.slice(at, Layout.BLOCK_SIZE);
        readFully(lc, Layout.segmentOffset(pc, s) + blockStart, block.duplicate());
        verify(lc, pc, s, block, Layout.BLOCK_SIZE, crcs, blockStart);
    }

    /**
     * First write to a segment this lc does not hold as data (unowned: redirect from the chain;
     * zero: data over a zero mark). Builds the whole merged segment, writes it, and only then
     * appends the materialize record and sets the bit, so the bit never points at a partial segment.
     */
    private void redirect(Lc lc, PcMeta meta, long pc, int s, int inSegment, ByteBuffer piece) throws IOException {
        redirects.increment();
        int n = piece.remaining();
        if (n == Layout.SEGMENT_SIZE) {
            int[] crcs = new int[Layout.BLOCKS_PER_SEGMENT];
            BlockCrc.ofBlocks(piece, 0, n, crcs, 0);
            materialize(lc, meta, pc, s, piece, crcs);
            return;
        }
        ByteBuffer segment = WRITE_SCRATCH.get().clear();
        Lc parent = lc.parent;
        if (meta.state(s) == PcMeta.UNOWNED && parent != null) {
            readResolved(resolvedPcs.of(parent, pc), pc, s, 0, segment);
        } else {
            segment.put(0, ZEROS, 0, Layout.SEGMENT_SIZE);
        }
        segment.put(inSegment, piece, 0, n);
        int[] crcs = new int[Layout.BLOCKS_PER_SEGMENT];
        BlockCrc.ofBlocks(segment, 0, Layout.SEGMENT_SIZE, crcs, 0);
        materialize(lc, meta, pc, s, segment, crcs);
    }

    private void materialize(Lc lc, PcMeta meta, long pc, int s, ByteBuffer segment, int[] crcs) throws IOException {
        writeFully(lc, Layout.segmentOffset(pc, s), segment.duplicate());
        long lsn = journal.append(new JournalRecord.Materialize(lc.id, pc, s, crcs));
        meta.setData(s, crcs);
        lc.pending.put(Lc.segmentKey(pc, s), lsn);
    }

    /**
     * Writes {@code src.remaining()} bytes at {@code offset} as a copy does, keeping the lc as sparse
     * as what it copies: bytes that are all zeros are written as zeros (whole segments then store
     * nothing, and a fresh lc is not touched at all), any others are written. Advances
     * {@code src}'s position.
     *
     * @return the bytes written as data: 0 or {@code src.remaining()}
     */
    public long writeSparse(long lcId, long offset, ByteBuffer src) {
        int n = src.remaining();
        boolean zero = true;
        for (int at = 0; at < n && zero; at += Layout.SEGMENT_SIZE) {
            int piece = Math.min(Layout.SEGMENT_SIZE, n - at);
            zero = src.slice(src.position() + at, piece).mismatch(ZEROS.slice(0, piece)) == -1;
        }
        if (zero) {
            writeZeroes(lcId, offset, n);
            src.position(src.limit());
            return 0;
        }
        write(lcId, offset, src);
        return n;
    }

    /**
     * Makes {@code [offset, offset + length)} read as zeros. Whole segments get a zero mark and store
     * no bytes (or nothing at all when the chain already supplies zeros); partial segments are
     * written with zeros.
     */
    public void writeZeroes(long lcId, long offset, long length) {
        Lock l = shared();
        try {
            Lc lc = writable(lcId, "write zeroes");
            checkRange(lc, offset, length);
            durability.checkWritable();
            long pos = offset;
            long end = offset + length;
            while (pos < end) {
                int inSegment = (int) (pos & (Layout.SEGMENT_SIZE - 1));
                int n = (int) Math.min(end - pos, Layout.SEGMENT_SIZE - inSegment);
                long segNo = pos >>> Layout.SEGMENT_SHIFT;
                long pc = segNo >>> 4;
                int s = (int) (segNo & 15);
                StampedLock stripe = stripes.of(lc.id, pc, s);
                long stamp = stripe.writeLock();
                try {
                    zeroSegment(lc, pc, s, inSegment, n);
                } finally {
                    stripe.unlockWrite(stamp);
                }
                pos += n;
            }
        } catch (IOException e) {
            throw IoFailure.of("write zeroes lc " + lcId, e);
        } finally {
            l.unlock();
        }
    }

    /** Same as {@link #writeZeroes}: a discarded range reads back as zeros. */
    public void trim(long lcId, long offset, long length) {
        writeZeroes(lcId, offset, length);
    }

    private void zeroSegment(Lc lc, long pc, int s, int inSegment, int n) throws IOException {
        PcMeta existing = lc.pcs.get(pc);
        byte state = existing != null ? existing.state(s) : PcMeta.UNOWNED;
        if (state == PcMeta.ZERO || (state == PcMeta.UNOWNED && !chainHasData(lc, pc, s))) {
            return;
        }
        if (n < Layout.SEGMENT_SIZE) {
            writeSegment(lc, pc, s, inSegment, ZEROS.slice(0, n));
            return;
        }
        journal.append(new JournalRecord.Zero(lc.id, pc, s));
        lc.pcForWrite(pc).setZero(s);
        lc.pending.remove(Lc.segmentKey(pc, s));
    }

    private boolean chainHasData(Lc lc, long pc, int s) {
        Lc parent = lc.parent;
        return parent != null && resolvedPcs.of(parent, pc).owners()[s] != null;
    }

    // ---------------------------------------------------------------- adopting a file

    /**
     * Where another program may write a raw image for {@link #adopt} to take as lc {@code lcId}'s
     * content: in the engine's directory, so that adopting it is a rename. One left behind by a crash
     * is removed when the engine next opens.
     */
    public Path stagingFile(long lcId) {
        return dir.resolve("lc-" + lcId + STAGING_SUFFIX);
    }

    /**
     * Whether a program writing a staging file should bypass the page cache (qemu-img's {@code -t
     * none}), as {@link #adopt} then reads it: where the file system allows direct I/O. Filling the
     * page cache with an image that clones read only now and then costs more than the write itself
     * on a machine whose free memory is slow to touch for the first time, and {@link #adopt} would
     * read it all back through the cache again, holes included.
     */
    public boolean directIo() {
        return directIo;
    }

    /**
     * Takes {@code file}, a raw image another program wrote (qemu-img convert into
     * {@link #stagingFile}), as the whole content of the fresh root lc {@code lcId} without copying a
     * byte: the file becomes the lc's data file (the layout of a root lc's file is the image's own),
     * each segment that holds anything but zeros is checksummed and owned, and all-zero segments
     * store nothing, so that a sparse file stays sparse. The lc is flushed, so it is durable on
     * return.
     *
     * <p>Until the flush, recovery treats the owned segments as it treats any unflushed redirect:
     * kept where the bytes on disk match their CRCs, otherwise zeros again.
     *
     * @return the bytes of the lc's address space that are now stored (whole segments, the last one
     *     cut at the lc's size)
     * @throws FrozenLcException the lc is frozen
     * @throws LcNotEmptyException the lc has a parent or holds data
     * @throws OutOfRangeException the file is longer than the lc
     */
    public long adopt(long lcId, Path file) {
        Lc lc = takeFile(lcId, file);
        try {
            // a file written through the page cache is written back while it is checksummed
            FileChannel channel = lc.channel();
            CompletableFuture<Long> writtenBack = CompletableFuture.supplyAsync(
                    () -> {
                        durability.force(channel, false, "lc " + lcId);
                        return 0L;
                    },
                    ADOPTERS);
            long stored;
            try {
                stored = ownNonZeroSegments(lc);
            } finally {
                writtenBack.exceptionally(failed -> 0L).join();
            }
            joinAll(List.of(writtenBack));
            Lock l = shared();
            try {
                live(lc);
                flushLcs(List.of(lc));
            } finally {
                l.unlock();
            }
            return stored;
        } catch (IOException e) {
            throw IoFailure.of("adopt a file as lc " + lcId, e);
        }
    }

    /** Checks the lc can adopt the file and renames the file into place, durably. */
    private Lc takeFile(long lcId, Path file) {
        Lock l = exclusive();
        try {
            Lc lc = writable(lcId, "adopt a file");
            durability.checkWritable();
            if (lc.parent != null) {
                throw new LcNotEmptyException(lcId, "reads from parent " + lc.parent.id);
            }
            if (!lc.pcs.isEmpty() || !lc.pending.isEmpty()) {
                throw new LcNotEmptyException(lcId, "holds data");
            }
            long length = Files.size(file);
            if (length > lc.size) {
                throw new OutOfRangeException(
                        "a file of " + length + " bytes is longer than lc " + lcId + " (" + lc.size + " bytes)");
            }
            lc.replaceFile(file);
            durability.forceDirectory(dir);
            return lc;
        } catch (IOException e) {
            throw IoFailure.of("adopt " + file + " as lc " + lcId, e);
        } finally {
            l.unlock();
        }
    }

    /** Throws unless {@code lc} is still this engine's (not deleted meanwhile). Under the engine lock. */
    private void live(Lc lc) {
        if (lcs.get(lc.id) != lc) {
            throw new UnknownLcException(lc.id);
        }
    }

    /**
     * Reads the lc's new file a PC at a time and owns each segment that is not all zeros, as a
     * redirect would: its materialize record, then its bit. {@link #ADOPT_READERS} threads take PCs
     * in turn, so that one reads while another checksums; each PC is done under the shared engine
     * lock on its own, so that lineage changes and checkpoints wait for a PC, not for the whole file.
     * Returns only once every reader has stopped, so that none appends a record after a failure.
     */
    private long ownNonZeroSegments(Lc lc) throws IOException {
        AtomicLong nextPc = new AtomicLong();
        long pcs = Layout.pcCount(lc.size);
        try (FileChannel file = directIo
                ? FileChannel.open(lc.file, StandardOpenOption.READ, ExtendedOpenOption.DIRECT)
                : FileChannel.open(lc.file, StandardOpenOption.READ)) {
            long fileSize = file.size();
            List<CompletableFuture<Long>> readers = new ArrayList<>();
            for (int r = 0; r < ADOPT_READERS; r++) {
                readers.add(CompletableFuture.supplyAsync(
                        () -> {
                            ByteBuffer pcBytes = ByteBuffer.allocateDirect((int) Layout.PC_SIZE + directIoAlignment)
                                    .alignedSlice(directIoAlignment);
                            long stored = 0;
                            try {
                                for (long pc = nextPc.getAndIncrement(); pc < pcs; pc = nextPc.getAndIncrement()) {
                                    Lock l = shared();
                                    try {
                                        live(lc);
                                        readPc(file, fileSize, pc << Layout.PC_SHIFT, pcBytes);
                                        stored += ownNonZeroSegments(lc, pc, pcBytes);
                                    } finally {
                                        l.unlock();
                                    }
                                }
                            } catch (IOException e) {
                                nextPc.set(pcs);
                                throw new UncheckedIOException(e);
                            } catch (RuntimeException e) {
                                nextPc.set(pcs);
                                throw e;
                            }
                            return stored;
                        },
                        ADOPTERS));
            }
            return joinAll(readers);
        }
    }

    /** Waits for every task; the sum of their results, or the first failure once all have ended. */
    private static long joinAll(List<CompletableFuture<Long>> tasks) throws IOException {
        long sum = 0;
        Throwable first = null;
        for (CompletableFuture<Long> task : tasks) {
            try {
                sum += task.join();
            } catch (CompletionException e) {
                first = first != null ? first : e.getCause();
            }
        }
        if (first instanceof UncheckedIOException io) {
            throw io.getCause();
        }
        if (first instanceof RuntimeException runtime) {
            throw runtime;
        }
        if (first instanceof Error error) {
            throw error;
        }
        return sum;
    }

    /**
     * Reads the PC at {@code start} into {@code pcBytes}, zeros past the end of the file. Whole
     * aligned blocks only, as direct I/O requires: a file ends mid-block only in its last block,
     * which is read whole and comes back short.
     */
    private void readPc(FileChannel file, long fileSize, long start, ByteBuffer pcBytes) throws IOException {
        pcBytes.clear();
        long inFile = Math.max(0, Math.min(Layout.PC_SIZE, fileSize - start));
        pcBytes.limit((int) ((inFile + directIoAlignment - 1) / directIoAlignment * directIoAlignment));
        while (pcBytes.position() < inFile) {
            if (file.read(pcBytes, start + pcBytes.position()) < 0) {
                break;
            }
        }
        pcBytes.limit(pcBytes.capacity());
        while (pcBytes.position() < pcBytes.limit()) {
            int zeros = Math.min(pcBytes.remaining(), Layout.SEGMENT_SIZE);
            pcBytes.put(pcBytes.position(), ZEROS, 0, zeros);
            pcBytes.position(pcBytes.position() + zeros);
        }
    }

    /** Owns the segments of PC {@code pc} that hold anything but zeros; the bytes they store. */
    private long ownNonZeroSegments(Lc lc, long pc, ByteBuffer pcBytes) throws IOException {
        long stored = 0;
        for (int s = 0; s < Layout.SEGMENTS_PER_PC; s++) {
            long offset = Layout.segmentOffset(pc, s);
            if (offset >= lc.size) {
                break;
            }
            ByteBuffer segment = pcBytes.slice(s << Layout.SEGMENT_SHIFT, Layout.SEGMENT_SIZE);
            if (segment.mismatch(ZEROS) == -1) {
                continue;
            }
            int[] crcs = new int[Layout.BLOCKS_PER_SEGMENT];
            BlockCrc.ofBlocks(segment, 0, Layout.SEGMENT_SIZE, crcs, 0);
            StampedLock stripe = stripes.of(lc.id, pc, s);
            long stamp = stripe.writeLock();
            try {
                long lsn = journal.append(new JournalRecord.Materialize(lc.id, pc, s, crcs));
                lc.pcForWrite(pc).setData(s, crcs);
                lc.pending.put(Lc.segmentKey(pc, s), lsn);
            } finally {
                stripe.unlockWrite(stamp);
            }
            stored += Math.min(Layout.SEGMENT_SIZE, lc.size - offset);
        }
        return stored;
    }

    // ---------------------------------------------------------------- durability

    /** On return every write to the lc that completed before the call is durable. */
    public void flush(long lcId) {
        Lock l = shared();
        try {
            flushes.increment();
            Lc lc = lc(lcId);
            durability.checkWritable();
            flushLcs(List.of(lc));
        } catch (IOException e) {
            throw IoFailure.of("flush lc " + lcId, e);
        } finally {
            l.unlock();
        }
        checkpointer.awaitIfOverdue();
    }

    /** On return every write that completed before the call is durable. */
    public void flushAll() {
        Lock l = shared();
        try {
            flushes.increment();
            durability.checkWritable();
            flushLcs(new ArrayList<>(lcs.values()));
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
     * capture order. If anything fails, the captured segments go back to pending.
     */
    private void flushLcs(List<Lc> toFlush) throws IOException {
        for (Lc lc : toFlush) {
            lc.flushLock.lock();
            List<JournalRecord.FlushedSegment> captured = new ArrayList<>();
            try {
                for (Long key : lc.pending.keySet().toArray(new Long[0])) {
                    long pc = key >>> 4;
                    int s = (int) (key & 15);
                    StampedLock stripe = stripes.of(lc.id, pc, s);
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
                    durability.force(lc.channel(), false, "lc " + lc.id);
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
        journal.force(durability);
    }

    /**
     * Writes the metadata to a new checkpoint and starts a new journal, so that the next open
     * replays only what follows. The engine's own checkpointer calls this when the journal is full
     * or old (see {@link EngineConfig}); I/O goes on meanwhile except for one short exclusive step:
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
    public void checkpoint() {
        checkpointing.lock();
        try {
            durability.checkWritable();
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
        LOG.log(
                System.Logger.Level.WARNING,
                "checkpoint of " + dir + " failed; journals " + checkpointed + " to " + generation
                        + " are kept and replayed on open until one succeeds",
                failure);
    }

    /** Under {@code checkpointing}. */
    private void checkpointSucceeded() {
        if (checkpointFailure != null) {
            checkpointFailure = null;
            LOG.log(System.Logger.Level.INFO, "checkpoint of " + dir + " succeeded after failures");
        }
    }

    /** Why the last checkpoint failed, or null if it succeeded (or none failed yet). */
    public @Nullable Throwable lastCheckpointFailure() {
        return checkpointFailure;
    }

    private void checkpointOnce() throws IOException {
        Checkpoint.Snapshot pending = unwritten;
        if (pending != null) {
            // the last switch's checkpoint never reached the disk: write it before switching again
            writeCheckpoint(pending, generation);
        }
        Lock l = shared();
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
            durability.forceDirectory(dir);
            Lock x = exclusive();
            try {
                flushLcs(withPendingWrites());
                snapshot = Checkpoint.snapshot(lcs.values());
                old = journal;
                journal = fresh;
                generation = next;
            } finally {
                x.unlock();
            }
        } catch (Throwable e) {
            try {
                fresh.close();
                Files.deleteIfExists(Journal.path(dir, next));
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
        snapshot.write(dir, next, durability);
        unwritten = null;
        for (long g = checkpointed; g < next; g++) {
            Files.deleteIfExists(Journal.path(dir, g));
        }
        checkpointed = next;
    }

    /** The lcs with writes not yet flushed. Under the engine lock. */
    private List<Lc> withPendingWrites() {
        List<Lc> pending = new ArrayList<>();
        for (Lc lc : lcs.values()) {
            if (!lc.pending.isEmpty()) {
                pending.add(lc);
            }
        }
        return pending;
    }

    // ---------------------------------------------------------------- stats and scrub

    public LcStats stats(long lcId) {
        Lock l = shared();
        try {
            return statsOf(lc(lcId));
        } finally {
            l.unlock();
        }
    }

    /**
     * Why the engine is read-only (an fsync failed; see {@link EngineReadOnlyException}), or empty
     * while it accepts writes. Once read-only, it stays so until reopened.
     */
    public Optional<String> readOnlyReason() {
        return Optional.ofNullable(durability.readOnlyReason());
    }

    /** Counts since this engine was opened, for metrics. */
    public EngineCounters counters() {
        return new EngineCounters(redirects.sum(), flushes.sum());
    }

    public EngineStats stats() {
        Lock l = shared();
        try {
            long owned = 0;
            long zero = 0;
            long pcs = 0;
            long bytes = 0;
            for (Lc lc : lcs.values()) {
                LcStats s = statsOf(lc);
                owned += s.segmentsOwned();
                zero += s.zeroSegments();
                pcs += s.pcsAllocated();
                bytes += s.bytesStored();
            }
            Throwable failure = checkpointFailure;
            return new EngineStats(
                    lcs.size(),
                    owned,
                    zero,
                    pcs,
                    bytes,
                    journal.sizeBytes(),
                    failure != null ? String.valueOf(failure.getMessage()) : null);
        } finally {
            l.unlock();
        }
    }

    private static LcStats statsOf(Lc lc) {
        long owned = 0;
        long zero = 0;
        long pcs = 0;
        for (PcMeta meta : lc.pcs.values()) {
            int o = Integer.bitCount(meta.owned() & 0xffff);
            if (o > 0) {
                pcs++;
                owned += o;
                zero += Integer.bitCount(meta.zero() & 0xffff);
            }
        }
        return new LcStats(lc.id, owned, zero, pcs, (owned - zero) * Layout.SEGMENT_SIZE);
    }

    /**
     * Reads every stored segment of every lc and checks each block against its CRC32C. Concurrent
     * writes are allowed; each segment is checked under its lock. The shared engine lock is taken
     * per PC, not for the whole run: a lineage change waiting for the exclusive lock makes new
     * readers queue behind it, so holding the shared lock for a long scrub would stall all I/O. An
     * lc deleted meanwhile is skipped from that PC on; one created meanwhile is not checked.
     */
    public ScrubReport scrub() {
        List<Lc> all;
        Lock listing = shared();
        try {
            all = new ArrayList<>(lcs.values());
        } finally {
            listing.unlock();
        }
        all.sort(Comparator.comparingLong(lc -> lc.id));
        long checked = 0;
        List<DamagedSegment> damaged = new ArrayList<>();
        ByteBuffer segment = ByteBuffer.allocateDirect(Layout.SEGMENT_SIZE);
        try {
            for (Lc lc : all) {
                List<Long> pcs = new ArrayList<>(lc.pcs.keySet());
                Collections.sort(pcs);
                for (long pc : pcs) {
                    Lock l = shared();
                    try {
                        if (lcs.get(lc.id) != lc) {
                            break;
                        }
                        checked += scrubPc(lc, pc, segment, damaged);
                    } finally {
                        l.unlock();
                    }
                }
            }
        } catch (IOException e) {
            throw new EngineIoException("scrub", e);
        }
        Collections.sort(damaged);
        return new ScrubReport(checked, damaged);
    }

    /** Checks the stored segments of one PC; the number checked. Under the shared engine lock. */
    private long scrubPc(Lc lc, long pc, ByteBuffer segment, List<DamagedSegment> damaged) throws IOException {
        PcMeta meta = lc.pcs.get(pc);
        if (meta == null) {
            return 0;
        }
        long checked = 0;
        for (int s = 0; s < Layout.SEGMENTS_PER_PC; s++) {
            StampedLock stripe = stripes.of(lc.id, pc, s);
            long stamp = stripe.readLock();
            try {
                if (meta.state(s) != PcMeta.DATA) {
                    continue;
                }
                checked++;
                segment.clear();
                readFully(lc, Layout.segmentOffset(pc, s), segment.duplicate());
                if (BlockCrc.firstMismatch(segment, 0, Layout.SEGMENT_SIZE, meta.crcs(s), 0) >= 0) {
                    damaged.add(new DamagedSegment(lc.id, pc, s));
                }
            } finally {
                stripe.unlockRead(stamp);
            }
        }
        return checked;
    }

    // ---------------------------------------------------------------- lifecycle

    /** Flushes, writes a checkpoint (so the next open replays nothing) and releases the directory. */
    @Override
    public void close() {
        checkpointer.close();
        checkpointing.lock();
        engineLock.writeLock().lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            try {
                // read-only: a checkpoint would make durable a state that the disk may not have
                if (durability.readOnlyReason() == null) {
                    // the same steps as a checkpoint, all exclusive: nothing runs any more
                    flushLcs(new ArrayList<>(lcs.values()));
                    journal.close();
                    Journal.create(Journal.path(dir, generation + 1)).close();
                    Checkpoint.write(dir, generation + 1, lcs.values(), durability);
                    for (long g = checkpointed; g <= generation; g++) {
                        Files.deleteIfExists(Journal.path(dir, g));
                    }
                }
            } finally {
                for (Lc lc : lcs.values()) {
                    closeQuietly(lc::close);
                }
                closeQuietly(journal);
                try {
                    dirLock.release();
                } finally {
                    lockChannel.close();
                }
            }
        } catch (IOException e) {
            throw IoFailure.of("close", e);
        } finally {
            engineLock.writeLock().unlock();
            checkpointing.unlock();
        }
    }

    private Lock shared() {
        return acquire(engineLock.readLock());
    }

    private Lock exclusive() {
        return acquire(engineLock.writeLock());
    }

    /** Takes the lock, or refuses once the engine is closed (checked under the lock, so close cannot race it). */
    private Lock acquire(Lock l) {
        l.lock();
        if (closed) {
            l.unlock();
            throw new EngineClosedException();
        }
        return l;
    }

    private Lc lc(long lcId) {
        Lc lc = lcs.get(lcId);
        if (lc == null) {
            throw new UnknownLcException(lcId);
        }
        return lc;
    }

    private Lc writable(long lcId, String operation) {
        Lc lc = lc(lcId);
        if (lc.frozen) {
            throw new FrozenLcException(lcId, operation);
        }
        return lc;
    }

    private static void checkRange(Lc lc, long offset, long length) {
        if (offset < 0 || length < 0 || offset > lc.size - length) {
            throw new OutOfRangeException(
                    "range [" + offset + ", +" + length + ") is outside lc " + lc.id + " of size " + lc.size);
        }
    }

    /**
     * The alignment direct I/O needs in {@code dir}, found by writing and reading back one aligned
     * block there; 0 when the file system refuses direct I/O.
     */
    private static int directIoAlignment(Path dir) throws IOException {
        int alignment = PAGE;
        try {
            alignment = (int)
                    Math.max(PAGE, Math.min(1 << 20, Files.getFileStore(dir).getBlockSize()));
        } catch (UnsupportedOperationException | IOException unknown) {
            // a page is what Linux file systems ask of direct I/O
        }
        Path probe = dir.resolve(DIRECT_IO_PROBE);
        ByteBuffer block = ByteBuffer.allocateDirect(2 * alignment).alignedSlice(alignment);
        try (FileChannel ch = FileChannel.open(
                probe,
                StandardOpenOption.CREATE,
                StandardOpenOption.READ,
                StandardOpenOption.WRITE,
                ExtendedOpenOption.DIRECT)) {
            ch.write(block.clear(), 0);
            ch.read(block.clear(), 0);
            return alignment;
        } catch (IOException | UnsupportedOperationException e) {
            return 0;
        } finally {
            Files.deleteIfExists(probe);
        }
    }

    private static void removeStrayFiles(Path dir, Set<Long> lcIds, long generation) throws IOException {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                boolean stray = name.equals(Checkpoint.FILE + ".tmp")
                        || (name.startsWith("journal-") && !f.equals(Journal.path(dir, generation)))
                        || (name.startsWith("lc-") && name.endsWith(STAGING_SUFFIX))
                        || (name.startsWith("lc-") && name.endsWith(".data") && !lcIds.contains(lcIdOf(name)));
                if (stray) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }

    private static long lcIdOf(String dataFileName) {
        try {
            return Long.parseLong(dataFileName.substring(3, dataFileName.length() - 5));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static void closeQuietly(@Nullable AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception ignored) {
            // best effort while already failing or shutting down; the original error wins
        }
    }
}
