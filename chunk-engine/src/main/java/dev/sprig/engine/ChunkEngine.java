package dev.sprig.engine;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
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
 *
 * <p><b>Parts.</b> This class is the engine's whole public surface; the work is done by
 * package-private parts over one shared {@code EngineState}: {@code Catalog} (lineage),
 * {@code SegmentReader} (the read path), {@code SegmentWriter} (in-place writes, redirects, zeros),
 * {@code Flattener}, {@code Adoption}, {@code Scrubber}, and {@code MetaStore} (journal,
 * checkpoints, the flush protocol), with {@code Recovery} on open.
 */
public final class ChunkEngine implements AutoCloseable {

    /** Bytes in a PC: the unit of placement. */
    public static final long PC_SIZE = Layout.PC_SIZE;
    /** Bytes in a segment: the unit of redirection. */
    public static final int SEGMENT_SIZE = Layout.SEGMENT_SIZE;
    /** Segments in a PC. */
    public static final int SEGMENTS_PER_PC = Layout.SEGMENTS_PER_PC;
    /**
     * The largest lc (64 TiB, 16,777,216 PCs). Nothing in the engine walks an lc by its declared
     * size, but sizes are bounded all the same, so that no request can declare an address space
     * whose offsets overflow or whose clients' own per-PC work could exhaust them.
     */
    public static final long MAX_SIZE = Layout.MAX_SIZE;

    private final DirectoryLock directory;
    private final EngineState state;
    private final MetaStore metaStore;
    private final Catalog catalog;
    private final SegmentReader reader;
    private final SegmentWriter writer;
    private final Flattener flattener;
    private final Adoption adoption;
    private final Scrubber scrubber;
    private final SegmentFiller filler;

    private ChunkEngine(DirectoryLock directory, EngineState state, long generation, int directIoAlignment)
            throws IOException {
        this.directory = directory;
        this.state = state;
        this.metaStore = new MetaStore(state, generation);
        this.catalog = new Catalog(state, metaStore);
        this.reader = new SegmentReader(state);
        WholeSegments wholeSegments = new WholeSegments(directIoAlignment);
        this.writer = new SegmentWriter(state, metaStore, reader, wholeSegments);
        this.flattener = new Flattener(state, metaStore, catalog, writer);
        this.adoption = new Adoption(state, metaStore, directIoAlignment);
        this.scrubber = new Scrubber(state);
        this.filler = new SegmentFiller(state, metaStore, reader, writer, wholeSegments);
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
        DirectoryLock directory = null;
        try {
            Files.createDirectories(dir);
            directory = DirectoryLock.acquire(dir);
            Recovery.Recovered recovered = Recovery.recover(dir, durability);
            EngineState state = new EngineState(dir, config, durability, recovered.lcs());
            ChunkEngine engine = new ChunkEngine(
                    directory, state, recovered.generation(), config.directIo() ? Adoption.directIoAlignment(dir) : 0);
            durability.forceDirectory(dir);
            engine.metaStore.startCheckpointer();
            return engine;
        } catch (IOException e) {
            EngineState.closeQuietly(directory);
            throw IoFailure.of("open " + dir, e);
        } catch (RuntimeException e) {
            EngineState.closeQuietly(directory);
            throw e;
        }
    }

    // ---------------------------------------------------------------- lineage

    /** Creates a root lc (no parent) of {@code sizeBytes}, all zeros. Durable on return. */
    public void create(long lcId, long sizeBytes) {
        catalog.create(lcId, sizeBytes);
    }

    /** Creates a child of the frozen lc {@code parentLcId} with the parent's size. */
    public void createChild(long lcId, long parentLcId) {
        catalog.createChild(lcId, parentLcId);
    }

    /**
     * Creates a child of the frozen lc {@code parentLcId}, at least as large as the parent (the part
     * past the parent's end reads as zeros). Durable on return.
     */
    public void createChild(long lcId, long parentLcId, long sizeBytes) {
        catalog.createChild(lcId, parentLcId, sizeBytes);
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
        catalog.createAll(batch);
    }

    /**
     * Makes the lc read-only, after flushing it, so that it can have children. Idempotent. A frozen
     * lc never changes again.
     */
    public void freeze(long lcId) {
        catalog.freeze(lcId);
    }

    /** Deletes an lc and its data file; refused while other lcs read through it. */
    public void delete(long lcId) {
        catalog.delete(lcId);
    }

    /** Grows a writable lc; the new space reads as zeros. */
    public void grow(long lcId, long newSizeBytes) {
        catalog.grow(lcId, newSizeBytes);
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
        flattener.flatten(lcId, progress);
    }

    /**
     * The PCs, in order, that some ancestor of the writable lc has metadata for: the only ones a
     * flatten can have anything to copy in (any other PC reads as zeros from every ancestor).
     * Ancestors are frozen, so their PC maps no longer change.
     */
    long[] ancestorPcs(long lcId) {
        return catalog.ancestorPcs(lcId);
    }

    /**
     * The PCs, in order, that the lc or one of its ancestors has metadata for: every other PC of the
     * lc reads as zeros, so a copy of the lc need visit only these (a superset of the PCs that hold
     * data: a PC whose segments were all zeroed is listed too). Advisory for a writable lc, like any
     * block status: a write racing the call may or may not be seen.
     */
    public long[] pcsWithData(long lcId) {
        return catalog.pcsWithData(lcId);
    }

    public LcInfo info(long lcId) {
        return catalog.info(lcId);
    }

    /** Every lc, sorted by id. */
    public List<LcInfo> list() {
        return catalog.list();
    }

    /**
     * The origin and depth of every segment of a range, as consecutive extents (neighbours alike
     * merged; the first and last cut to the range). Advisory, like any block status: a write racing
     * the call may or may not be seen.
     */
    public List<Extent> allocation(long lcId, long offset, long length) {
        return reader.allocation(lcId, offset, length);
    }

    // ---------------------------------------------------------------- data path

    /**
     * Reads {@code dst.remaining()} bytes at {@code offset} into {@code dst} and advances its
     * position. Every stored block is checked against its CRC32C first.
     *
     * @throws CorruptionException if a block does not match (dst then holds partial data)
     */
    public void read(long lcId, long offset, ByteBuffer dst) {
        reader.read(lcId, offset, dst);
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
     * Writes {@code src.remaining()} bytes at {@code offset} and advances its position. On return
     * the bytes are visible to reads; they are durable after the next {@link #flush}.
     */
    public void write(long lcId, long offset, ByteBuffer src) {
        writer.write(lcId, offset, src);
    }

    /**
     * Whether a write of {@code [offset, offset + length)} would only rewrite data the writable lc
     * already holds, and not wait: no read of its parent, no new segment, no whole segment being
     * written into the lc's file with direct I/O meanwhile (ext4 holds the file's lock for a direct
     * write's whole device time, and a buffered write waits for it), a few microseconds in the page
     * cache. Advisory (a snapshot, a zero write or a first write may change it before the write
     * comes); false for an unknown or frozen lc or a range outside it.
     */
    public boolean rewritesInPlace(long lcId, long offset, int length) {
        return writer.rewritesInPlace(lcId, offset, length);
    }

    public void write(long lcId, long offset, byte[] src) {
        write(lcId, offset, ByteBuffer.wrap(src));
    }

    public void write(long lcId, long offset, byte[] src, int srcOffset, int length) {
        write(lcId, offset, ByteBuffer.wrap(src, srcOffset, length));
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
        return writer.writeSparse(lcId, offset, src);
    }

    /**
     * Makes {@code [offset, offset + length)} read as zeros. Whole segments get a zero mark and store
     * no bytes (or nothing at all when the chain already supplies zeros); partial segments are
     * written with zeros.
     */
    public void writeZeroes(long lcId, long offset, long length) {
        writer.writeZeroes(lcId, offset, length);
    }

    /** Same as {@link #writeZeroes}: a discarded range reads back as zeros. */
    public void trim(long lcId, long offset, long length) {
        writeZeroes(lcId, offset, length);
    }

    // ---------------------------------------------------------------- self-healing: own segments

    /**
     * What the lc itself holds (not through its parent) in PCs {@code [firstPc, firstPc + pcCount)}:
     * one entry, in PC order, per PC where it holds at least one segment, with each segment's state
     * and the block CRCs of its data segments. Advisory for a writable lc, like any block status.
     *
     * @throws OutOfRangeException the PCs lie outside the lc
     */
    public List<OwnedPc> ownSegments(long lcId, long firstPc, long pcCount) {
        return filler.ownSegments(lcId, firstPc, pcCount);
    }

    /**
     * Reads segment {@code segment} of PC {@code pc} as the lc itself stores it (never through its
     * parent), verified against its block CRCs, into the next 256 KiB of {@code dst} and advances
     * its position, if the lc holds it as data. Otherwise reads nothing.
     *
     * @return the lc's own state of the segment: {@link SegmentState#DATA} when {@code dst} was filled
     * @throws CorruptionException a block does not match its CRC
     * @throws OutOfRangeException the segment lies outside the lc or {@code dst} has less than 256 KiB left
     */
    public SegmentState readOwnSegment(long lcId, long pc, int segment, ByteBuffer dst) {
        return filler.readOwnSegment(lcId, pc, segment, dst);
    }

    /**
     * {@link #readOwnSegment} for several segments of one PC: each segment {@code s} in {@code
     * wanted} (bit {@code s}) that the lc holds itself as data is read into {@code dst[s]} (256 KiB
     * from its position, which advances) and checked against its CRCs; answers a mask of those.
     * Reads a frozen lc's consecutive segments in one request: a rebuild's source reads PCs whole.
     *
     * @throws CorruptionException a block does not match its CRC
     * @throws OutOfRangeException a wanted segment lies outside the lc or its buffer has less than 256 KiB left
     */
    public int readOwnSegments(long lcId, long pc, int wanted, ByteBuffer[] dst) {
        return filler.readOwnSegments(lcId, pc, wanted, dst);
    }

    /**
     * Makes the next 256 KiB of {@code data} the lc's own content of a segment, only if the lc does
     * not hold that segment yet (it reads it through its parent): a rebuild or catch-up of a replica.
     * If the lc already holds it, as data or zeros (a client write got there first), nothing changes
     * and the write stays. Holds the segment's write lock as a write does, so a fill and a write of
     * the same segment never interleave. Works on frozen lcs too (a rebuild copies frozen
     * ancestors); a fill of a frozen lc is durable on return, one of a writable lc after the next
     * {@link #flush}, like a write. Advances {@code data}'s position only if it filled.
     *
     * <p>Known gap: a whole-segment {@link #writeZeroes} over a segment that reads as zeros already
     * (unowned, and no ancestor stores it) leaves the segment unowned, so a later fill does take it.
     * A caller that fills an lc while it takes writes marks such segments itself with {@link
     * #fillZeroSegment} first (the storage node does, for an lc with a rebuild source).
     *
     * @return true if the segment was filled, false if the lc held it already
     * @throws OutOfRangeException the segment lies outside the lc or {@code data} has less than 256 KiB left
     */
    public boolean fillSegment(long lcId, long pc, int segment, ByteBuffer data) {
        return filler.fill(lcId, pc, segment, java.util.Objects.requireNonNull(data));
    }

    /**
     * {@link #fillSegment} and {@link #fillZeroSegment} for several segments of one PC at once (a
     * segment listed twice is filled once). For a frozen lc their bytes are forced and their records
     * journaled once for all of them, not once each; durable on return as a single fill is.
     *
     * @return a mask of the segments filled (bit {@code s} for segment {@code s}); the others were held
     * @throws OutOfRangeException a segment lies outside the lc or a buffer has less than 256 KiB left
     */
    public int fillSegments(long lcId, long pc, List<SegmentFill> fills) {
        return filler.fill(lcId, pc, List.copyOf(fills));
    }

    /** {@link #fillSegment} with a segment of zeros: the lc then holds it as zeros (no bytes stored). */
    public boolean fillZeroSegment(long lcId, long pc, int segment) {
        return filler.fill(lcId, pc, segment, null);
    }

    /**
     * Makes the next 256 KiB of {@code data} the lc's own content of a segment whatever it held
     * (unowned, zeros or data): a catch-up replacing a segment its replica may hold an old version
     * of (decision 012). Unlike {@link #fillSegment} it overwrites held data, so the caller decides
     * when that is right (the storage node does so only for a segment it knows to be suspect, and
     * only once). On a writable lc it holds the segment's write lock, as a whole-segment write does,
     * and is durable after the next {@link #flush}; on a frozen lc it is durable on return.
     *
     * @throws OutOfRangeException the segment lies outside the lc or {@code data} has less than 256 KiB left
     */
    public void replaceSegment(long lcId, long pc, int segment, ByteBuffer data) {
        filler.replace(lcId, pc, segment, java.util.Objects.requireNonNull(data));
    }

    /** {@link #replaceSegment} with a segment of zeros: the lc then holds it as zeros (no bytes stored). */
    public void replaceZeroSegment(long lcId, long pc, int segment) {
        filler.replace(lcId, pc, segment, null);
    }

    /**
     * {@link #replaceSegment} ({@code data} null: {@link #replaceZeroSegment}), only if the lc itself
     * still holds the segment as {@code heldState} with, for data, the block CRCs {@code heldCrcs}:
     * a replica scrub's repair, which must not undo a write that landed after it compared the
     * replicas. Checked under the lock the replacement holds, so nothing lands in between.
     *
     * @return true if it replaced the segment, false (nothing changed) if the lc holds something else
     * @throws OutOfRangeException the segment lies outside the lc or {@code data} has less than 256 KiB left
     */
    public boolean replaceSegmentIf(
            long lcId,
            long pc,
            int segment,
            SegmentState heldState,
            int @Nullable [] heldCrcs,
            @Nullable ByteBuffer data) {
        return filler.replace(
                lcId, pc, segment, new SegmentFiller.Held(java.util.Objects.requireNonNull(heldState), heldCrcs), data);
    }

    // ---------------------------------------------------------------- adopting a file

    /**
     * Where another program may write a raw image for {@link #adopt} to take as lc {@code lcId}'s
     * content: in the engine's directory, so that adopting it is a rename. One left behind by a crash
     * is removed when the engine next opens.
     */
    public Path stagingFile(long lcId) {
        return adoption.stagingFile(lcId);
    }

    /**
     * Whether a program writing a staging file should bypass the page cache (qemu-img's {@code -t
     * none}), as {@link #adopt} then reads it: where the file system allows direct I/O. Filling the
     * page cache with an image that clones read only now and then costs more than the write itself
     * on a machine whose free memory is slow to touch for the first time, and {@link #adopt} would
     * read it all back through the cache again, holes included.
     */
    public boolean directIo() {
        return adoption.directIo();
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
        return adoption.adopt(lcId, file);
    }

    // ---------------------------------------------------------------- durability

    /** On return every write to the lc that completed before the call is durable. */
    public void flush(long lcId) {
        metaStore.flush(lcId);
    }

    /** On return every write that completed before the call is durable. */
    public void flushAll() {
        metaStore.flushAll();
    }

    /**
     * Writes the metadata to a new checkpoint and starts a new journal, so that the next open
     * replays only what follows. The engine's own checkpointer calls this when the journal is full
     * or old (see {@link EngineConfig}); I/O goes on meanwhile except for one short exclusive step
     * (the steps are in {@code MetaStore.checkpoint}).
     */
    public void checkpoint() {
        metaStore.checkpoint();
    }

    /** Why the last checkpoint failed, or null if it succeeded (or none failed yet). */
    public @Nullable Throwable lastCheckpointFailure() {
        return metaStore.lastCheckpointFailure();
    }

    // ---------------------------------------------------------------- stats and scrub

    public LcStats stats(long lcId) {
        return catalog.stats(lcId);
    }

    /**
     * Why the engine is read-only (an fsync failed; see {@link EngineReadOnlyException}), or empty
     * while it accepts writes. Once read-only, it stays so until reopened.
     */
    public Optional<String> readOnlyReason() {
        return Optional.ofNullable(state.durability.readOnlyReason());
    }

    /** Counts since this engine was opened, for metrics. */
    public EngineCounters counters() {
        return new EngineCounters(state.redirects.sum(), state.flushes.sum());
    }

    public EngineStats stats() {
        return catalog.stats();
    }

    /**
     * Reads every stored segment of every lc and checks each block against its CRC32C. Concurrent
     * writes are allowed; each segment is checked under its lock. The shared engine lock is taken
     * per PC, not for the whole run: a lineage change waiting for the exclusive lock makes new
     * readers queue behind it, so holding the shared lock for a long scrub would stall all I/O. An
     * lc deleted meanwhile is skipped from that PC on; one created meanwhile is not checked.
     */
    public ScrubReport scrub() {
        return scrubber.scrub();
    }

    // ---------------------------------------------------------------- lifecycle

    /** Flushes, writes a checkpoint (so the next open replays nothing) and releases the directory. */
    @Override
    public void close() {
        metaStore.close(directory);
    }
}
