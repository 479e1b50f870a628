package dev.sprig.engine;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.StampedLock;

/**
 * Adoption: takes a raw image another program wrote into a staging file as a root lc's data file,
 * without copying it, and owns each of its segments that is not all zeros. Reads the file with
 * direct I/O where the file system allows it, on a thread pool of its own.
 */
final class Adoption {

    /** The name a staging file ends with; opening an engine removes any it finds. */
    static final String STAGING_SUFFIX = ".staging";

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

    private final EngineState state;
    private final MetaStore metaStore;
    private final Path dir;
    private final Durability durability;
    private final SegmentLocks stripes;
    /** Whether direct I/O is configured and the file system of {@code dir} allows it. */
    private final boolean directIo;
    /** What direct I/O in {@code dir} aligns to: a page, or the file system's block if larger. */
    private final int directIoAlignment;

    /** {@code directIoAlignment}: what {@link #directIoAlignment(Path)} found, or 0 for no direct I/O. */
    Adoption(EngineState state, MetaStore metaStore, int directIoAlignment) {
        this.state = state;
        this.metaStore = metaStore;
        this.dir = state.dir;
        this.durability = state.durability;
        this.stripes = state.stripes;
        this.directIo = directIoAlignment > 0;
        this.directIoAlignment = Math.max(PAGE, directIoAlignment);
    }

    Path stagingFile(long lcId) {
        return dir.resolve("lc-" + lcId + STAGING_SUFFIX);
    }

    boolean directIo() {
        return directIo;
    }

    long adopt(long lcId, Path file) {
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
            Lock l = state.shared();
            try {
                state.live(lc);
                metaStore.flushLcs(List.of(lc));
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
        Lock l = state.exclusive();
        try {
            Lc lc = state.writable(lcId, "adopt a file");
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
                            ByteBuffer pcBytes = AlignedBuffers.allocate((int) Layout.PC_SIZE, directIoAlignment);
                            long stored = 0;
                            try {
                                for (long pc = nextPc.getAndIncrement(); pc < pcs; pc = nextPc.getAndIncrement()) {
                                    Lock l = state.shared();
                                    try {
                                        state.live(lc);
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
            pcBytes.put(pcBytes.position(), SegmentReader.ZEROS, 0, zeros);
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
            if (segment.mismatch(SegmentReader.ZEROS) == -1) {
                continue;
            }
            int[] crcs = new int[Layout.BLOCKS_PER_SEGMENT];
            BlockCrc.ofBlocks(segment, 0, Layout.SEGMENT_SIZE, crcs, 0);
            StampedLock stripe = stripes.of(lc.id, pc, s);
            long stamp = stripe.writeLock();
            try {
                long lsn = metaStore.journal().append(new JournalRecord.Materialize(lc.id, pc, s, crcs));
                lc.pcForWrite(pc).setData(s, crcs);
                lc.pending.put(Lc.segmentKey(pc, s), lsn);
            } finally {
                stripe.unlockWrite(stamp);
            }
            stored += Math.min(Layout.SEGMENT_SIZE, lc.size - offset);
        }
        return stored;
    }

    /**
     * The alignment direct I/O needs in {@code dir}, found by writing and reading back one aligned
     * block there; 0 when the file system refuses direct I/O.
     */
    static int directIoAlignment(Path dir) throws IOException {
        int alignment = PAGE;
        try {
            alignment = (int)
                    Math.max(PAGE, Math.min(1 << 20, Files.getFileStore(dir).getBlockSize()));
        } catch (UnsupportedOperationException | IOException unknown) {
            // a page is what Linux file systems ask of direct I/O
        }
        Path probe = dir.resolve(DIRECT_IO_PROBE);
        ByteBuffer block = AlignedBuffers.allocate(alignment, alignment);
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
}
