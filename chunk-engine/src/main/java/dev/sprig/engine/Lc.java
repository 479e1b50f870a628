package dev.sprig.engine;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import org.jspecify.annotations.Nullable;

/**
 * One lc in memory: its lineage, its sparse PC metadata and its data file ({@code lc-<id>.data},
 * PC i at offset i × 4 MiB, segment s at +s × 256 KiB, unwritten ranges left as holes).
 *
 * <p>Lineage fields change only under the engine's exclusive lock. {@code pending} holds, for each
 * segment changed since its last flush, the journal position of the record that marked it; a flush
 * removes entries under the segment's lock and names them in its flush record.
 *
 * <p>A frozen lc's data file is also read through read-only memory mappings, one per 1 GiB region
 * of the file, made on first use and kept until the lc is closed or deleted. Its file never changes
 * again, so a mapping made once covers exactly what the file holds and never needs extending.
 */
final class Lc {

    /** A mapping per 1 GiB of the file: under the 2 GiB limit of a buffer, and a segment never spans two. */
    static final int REGION_SHIFT = 30;

    private static final MappedByteBuffer @Nullable [] NO_REGIONS = new MappedByteBuffer[0];
    private static final sun.misc.Unsafe UNSAFE = unsafe();

    final long id;
    final Path file;
    volatile @Nullable Lc parent;
    volatile long size;
    volatile boolean frozen;
    int children;

    final ConcurrentHashMap<Long, PcMeta> pcs = new ConcurrentHashMap<>(4);
    final ConcurrentHashMap<Long, Long> pending = new ConcurrentHashMap<>(4);
    /**
     * Segments (keys as in {@link #pending}) that held data when they were zeroed: the file still
     * has those bytes, and until the zero mark is forced the durable metadata may still say they are
     * the segment's data under their CRCs. {@link SegmentWriter#materialize} forces it before it
     * writes over them.
     */
    final Set<Long> zeroedOverData = ConcurrentHashMap.newKeySet();

    final ReentrantLock flushLock = new ReentrantLock();
    private volatile @Nullable FileChannel channel;
    /** The same file opened for direct I/O (WholeSegments), once a whole segment is written. */
    private volatile @Nullable FileChannel directChannel;

    private volatile boolean nameUnsynced;
    /**
     * Whether every range of the data file outside this lc's data segments is known to read as
     * zeros: this engine created the file (no earlier run or crash can have left bytes in it) and no
     * write into it has failed since (which could have left bytes without their segment's record).
     */
    private volatile boolean unownedRangesAreHoles;
    /** Whole segments being written into the file with direct I/O now (WholeSegments). */
    private final AtomicInteger directWrites = new AtomicInteger();
    /** Copy-on-write, replaced under this object's monitor; an entry never changes once set. */
    private volatile MappedByteBuffer @Nullable [] regions = NO_REGIONS;

    Lc(long id, Path dir, @Nullable Lc parent, long size, boolean frozen) {
        this.id = id;
        this.file = dir.resolve(fileName(id));
        this.parent = parent;
        this.size = size;
        this.frozen = frozen;
    }

    static String fileName(long id) {
        return "lc-" + id + ".data";
    }

    static long segmentKey(long pcIndex, int segment) {
        return Layout.segmentNumber(pcIndex, segment);
    }

    PcMeta pcForWrite(long pcIndex) {
        return pcs.computeIfAbsent(pcIndex, k -> new PcMeta());
    }

    /** The data file, opened (and created) on first use and kept open. */
    FileChannel channel() throws IOException {
        FileChannel ch = channel;
        if (ch == null) {
            synchronized (this) {
                ch = channel;
                if (ch == null) {
                    boolean created = !Files.exists(file);
                    ch = FileChannel.open(
                            file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
                    nameUnsynced = created;
                    unownedRangesAreHoles = created;
                    channel = ch;
                }
            }
        }
        return ch;
    }

    /**
     * The data file opened for whole-segment reads and writes with direct I/O, on first use; {@link
     * #channel()} creates it.
     */
    FileChannel directChannel() throws IOException {
        FileChannel ch = directChannel;
        if (ch == null) {
            synchronized (this) {
                ch = directChannel;
                if (ch == null) {
                    channel();
                    ch = FileChannel.open(
                            file, StandardOpenOption.READ, StandardOpenOption.WRITE, ExtendedOpenOption.DIRECT);
                    directChannel = ch;
                }
            }
        }
        return ch;
    }

    /**
     * Whether a segment this lc has never held as data reads as zeros in its file, so that a first
     * write over a chain without data there may write only its own blocks. Opens the file.
     */
    boolean unownedRangesAreHoles() throws IOException {
        channel();
        return unownedRangesAreHoles;
    }

    int directWritesInFlight() {
        return directWrites.get();
    }

    void directWriteStarted() {
        directWrites.incrementAndGet();
    }

    void directWriteEnded() {
        directWrites.decrementAndGet();
    }

    /** A write into the file failed: it may have left bytes where no segment's record says so. */
    void writeFailed() {
        unownedRangesAreHoles = false;
    }

    /**
     * Whether this lc's data file was created after its directory was last forced. fsync of a new
     * file makes its data durable but, strictly (POSIX), not its name: the flush that first makes
     * this file's segments durable forces the directory too (PowerLossTest, strict names).
     */
    boolean nameUnsynced() {
        return nameUnsynced;
    }

    void nameSynced() {
        nameUnsynced = false;
    }

    /** The data file if it was opened, without opening it. */
    @Nullable
    FileChannel openChannel() {
        return channel;
    }

    /**
     * The mapping of the 1 GiB region holding {@code [position, position + length)} of this frozen
     * lc's data file, or null if the file does not cover that range (a damaged, truncated file: the
     * caller then reads with pread, which sees zeros past the end and reports the CRC mismatch).
     * Only ranges inside the file are ever touched, because touching a mapped page past the end of
     * the file raises SIGBUS. Callers hold the shared engine lock, which keeps the mapping alive.
     */
    @Nullable
    MappedByteBuffer region(long position, int length) throws IOException {
        int r = (int) (position >>> REGION_SHIFT);
        MappedByteBuffer[] rs = regions;
        MappedByteBuffer m = rs != null && r < rs.length ? rs[r] : null;
        if (m == null) {
            m = mapRegion(r);
        }
        return inRegion(position) + length <= m.capacity() ? m : null;
    }

    /**
     * Whether every page of {@code [position, position + length)} of this frozen lc's data file is
     * in the page cache (mincore through the mapping); false for a range the file does not cover.
     */
    boolean cached(long position, int length) throws IOException {
        MappedByteBuffer m = region(position, length);
        return m != null && m.slice(inRegion(position), length).isLoaded();
    }

    /** The index in its region's mapping of a byte of the data file. */
    static int inRegion(long position) {
        return (int) (position & ((1 << REGION_SHIFT) - 1));
    }

    private synchronized MappedByteBuffer mapRegion(int r) throws IOException {
        MappedByteBuffer[] rs = regions;
        if (rs == null) {
            throw new IOException("lc " + id + " is closed");
        }
        if (r < rs.length && rs[r] != null) {
            return rs[r];
        }
        FileChannel ch = channel();
        long start = (long) r << REGION_SHIFT;
        long length = Math.min(1L << REGION_SHIFT, ch.size() - start);
        // never map past the end: for a writable channel, map() would extend the file to cover it
        MappedByteBuffer m = length > 0
                ? ch.map(FileChannel.MapMode.READ_ONLY, start, length)
                : ch.map(FileChannel.MapMode.READ_ONLY, 0, 0);
        MappedByteBuffer[] grown = Arrays.copyOf(rs, Math.max(rs.length, r + 1));
        grown[r] = m;
        regions = grown;
        return m;
    }

    /**
     * Unmaps the regions now rather than when the buffers are collected, so that a deleted lc's
     * space is returned at once. Runs under the exclusive engine lock: no read is using them.
     */
    private synchronized void unmapRegions() {
        MappedByteBuffer[] rs = regions;
        regions = null;
        if (rs == null) {
            return;
        }
        for (MappedByteBuffer m : rs) {
            if (m != null && m.capacity() > 0) {
                UNSAFE.invokeCleaner(m);
            }
        }
    }

    void close() throws IOException {
        unmapRegions();
        closeChannels();
    }

    /** Closes the direct channel, if open; a later whole-segment write would open it again. */
    synchronized void closeDirectChannel() throws IOException {
        FileChannel direct = directChannel;
        directChannel = null;
        if (direct != null) {
            direct.close();
        }
    }

    private synchronized void closeChannels() throws IOException {
        FileChannel direct = directChannel;
        directChannel = null;
        FileChannel ch = channel;
        channel = null;
        try {
            if (direct != null) {
                direct.close();
            }
        } finally {
            if (ch != null) {
                ch.close();
            }
        }
    }

    /**
     * Makes {@code from} this lc's data file, replacing whatever was there; a channel open on the old
     * file is closed first, so the next use opens the new one. Atomic: the lc has one file or the
     * other, never a mix.
     */
    synchronized void replaceFile(Path from) throws IOException {
        closeChannels();
        unownedRangesAreHoles = false;
        Files.move(from, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    void closeAndDelete() throws IOException {
        close();
        Files.deleteIfExists(file);
    }

    /** For {@code invokeCleaner}, the only way to unmap a buffer before it is collected (Java 17). */
    private static sun.misc.Unsafe unsafe() {
        try {
            Field f = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            return (sun.misc.Unsafe) f.get(null);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
