package dev.sprig.engine;

import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * The checkpoint file: a full snapshot of every lc's lineage and PC metadata, taken when nothing is
 * pending (all data flushed), naming the journal generation that continues it. It is written to
 * {@code checkpoint.tmp}, fsynced, renamed over {@code checkpoint} and the directory fsynced, so a
 * crash leaves either the old or the new checkpoint, never a torn one.
 *
 * <p>Both directions stream through a buffer of a fixed size: memory does not grow with the file,
 * so a checkpoint of any size can be written and read back.
 */
final class Checkpoint {

    static final String FILE = "checkpoint";
    private static final long MAGIC = 0x5350524947434b50L; // "SPRIGCKP"
    private static final int VERSION = 1;
    static final int BUFFER = 1 << 20;
    private static final int HEADER_BYTES = 24;
    private static final int LC_BYTES = 30;
    /** The largest encoding of one PC: index, two bitmaps, 16 segments of 64 CRCs. */
    private static final int MAX_PC_BYTES = 12 + Layout.SEGMENTS_PER_PC * Layout.BLOCKS_PER_SEGMENT * 4;
    /** The least read buffer: one PC and one lc header must fit. */
    static final int MIN_BUFFER = 2 * MAX_PC_BYTES;

    private Checkpoint() {}

    record Loaded(long journalGeneration, Map<Long, Lc> lcs) {}

    /**
     * The engine's metadata at one instant, taken under the exclusive engine lock and written after
     * it is released. Writable lcs are encoded at once, because their metadata changes as soon as
     * writes resume; frozen lcs never change again, so they are kept by reference and encoded while
     * the file is written.
     */
    static final class Snapshot {
        private final List<ByteBuffer> writable;
        private final List<Lc> frozen;
        private final int count;

        private Snapshot(List<ByteBuffer> writable, List<Lc> frozen, int count) {
            this.writable = writable;
            this.frozen = frozen;
            this.count = count;
        }

        /**
         * Writes {@code checkpoint} naming journal {@code journalGeneration}, durably. May be called
         * again after it failed. A failure deletes {@code checkpoint.tmp}, so a full disk does not
         * keep a partial copy of the metadata.
         */
        void write(Path dir, long journalGeneration, Durability durability) throws IOException {
            Path tmp = dir.resolve(FILE + ".tmp");
            try {
                writeTmp(tmp, journalGeneration, durability);
                Files.move(tmp, dir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (Throwable e) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (Throwable cleanup) {
                    e.addSuppressed(cleanup);
                }
                throw e;
            }
            durability.forceDirectory(dir);
        }

        private void writeTmp(Path tmp, long journalGeneration, Durability durability) throws IOException {
            try (FileChannel ch = FileChannel.open(
                    tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                FileSink out = new FileSink(ch);
                out.room(HEADER_BYTES)
                        .putLong(MAGIC)
                        .putInt(VERSION)
                        .putLong(journalGeneration)
                        .putInt(count);
                out.drain();
                for (ByteBuffer chunk : writable) {
                    out.write(chunk.duplicate().flip());
                }
                for (Lc lc : frozen) {
                    encode(lc, out);
                }
                out.finish();
                durability.force(ch, true, "checkpoint");
            } catch (CheckpointWriteException e) {
                throw e.getCause();
            }
        }
    }

    /** Takes a snapshot of {@code lcs}; the caller holds the engine lock exclusively and nothing is pending. */
    static Snapshot snapshot(Collection<Lc> lcs) {
        return snapshot(lcs, ChunkedSink.CHUNK_BYTES);
    }

    /** A snapshot whose writable lcs are encoded into chunks of {@code chunkBytes} (for tests: small). */
    static Snapshot snapshot(Collection<Lc> lcs, int chunkBytes) {
        ChunkedSink writable = new ChunkedSink(chunkBytes);
        List<Lc> frozen = new ArrayList<>();
        int count = 0;
        for (Lc lc : lcs) {
            if (lc.frozen) {
                frozen.add(lc);
            } else {
                encode(lc, writable);
            }
            count++;
        }
        return new Snapshot(writable.chunks, frozen, count);
    }

    /** Writes a checkpoint of {@code lcs} at once; the caller holds the engine lock exclusively. */
    static void write(Path dir, long journalGeneration, Collection<Lc> lcs, Durability durability) throws IOException {
        snapshot(lcs).write(dir, journalGeneration, durability);
    }

    /** Where encoded bytes go: {@link #room} returns a buffer with at least that many bytes free. */
    private interface Sink {
        ByteBuffer room(int bytes);
    }

    /**
     * Memory that grows as needed (the writable lcs of a snapshot), a chunk at a time: nothing is
     * copied as it grows (it grows under the exclusive engine lock) and it may exceed 2 GiB, which
     * one buffer cannot. A chunk's unused tail (less than one PC's encoding) is not written.
     */
    static final class ChunkedSink implements Sink {
        static final int CHUNK_BYTES = 1 << 20;
        /** Every {@link #room} request fits a chunk. */
        static final int MIN_CHUNK_BYTES = Math.max(MAX_PC_BYTES, LC_BYTES);

        final List<ByteBuffer> chunks = new ArrayList<>();
        private final int chunkBytes;

        ChunkedSink(int chunkBytes) {
            if (chunkBytes < MIN_CHUNK_BYTES) {
                throw new IllegalArgumentException("chunks of " + chunkBytes + " bytes cannot hold a PC");
            }
            this.chunkBytes = chunkBytes;
        }

        @Override
        public ByteBuffer room(int bytes) {
            ByteBuffer last = chunks.isEmpty() ? null : chunks.get(chunks.size() - 1);
            if (last == null || last.remaining() < bytes) {
                last = ByteBuffer.allocate(chunkBytes);
                chunks.add(last);
            }
            return last;
        }
    }

    /** A file written through one fixed buffer, with a running CRC32C of everything written. */
    private static final class FileSink implements Sink {
        private final FileChannel channel;
        private final ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER);
        private final CRC32C crc = new CRC32C();

        FileSink(FileChannel channel) {
            this.channel = channel;
        }

        @Override
        public ByteBuffer room(int bytes) {
            if (buffer.remaining() < bytes) {
                drain();
            }
            return buffer;
        }

        void write(ByteBuffer bytes) {
            drain();
            crc.update(bytes.duplicate());
            writeFully(bytes);
        }

        void drain() {
            buffer.flip();
            crc.update(buffer.duplicate());
            writeFully(buffer);
            buffer.clear();
        }

        /** Drains and appends the CRC of everything before it. */
        void finish() {
            drain();
            writeFully(ByteBuffer.allocate(4).putInt(0, (int) crc.getValue()));
        }

        private void writeFully(ByteBuffer b) {
            try {
                while (b.hasRemaining()) {
                    channel.write(b);
                }
            } catch (IOException e) {
                throw new CheckpointWriteException(e);
            }
        }
    }

    /** Carries an I/O failure out of a {@link Sink}, whose callers encode without checked exceptions. */
    private static final class CheckpointWriteException extends RuntimeException {
        CheckpointWriteException(IOException cause) {
            super(cause);
        }

        @Override
        public synchronized IOException getCause() {
            return (IOException) super.getCause();
        }
    }

    private static void encode(Lc lc, Sink out) {
        Lc parent = lc.parent;
        // most clones own nothing: skip the map iterators for them
        boolean none = lc.pcs.isEmpty();
        int pcs = 0;
        for (PcMeta meta : none ? List.<PcMeta>of() : lc.pcs.values()) {
            pcs += meta.owned() != 0 ? 1 : 0;
        }
        out.room(LC_BYTES)
                .putLong(lc.id)
                .put((byte) (parent != null ? 1 : 0))
                .putLong(parent != null ? parent.id : 0)
                .putLong(lc.size)
                .put((byte) (lc.frozen ? 1 : 0))
                .putInt(pcs);
        if (pcs == 0) {
            return;
        }
        for (Map.Entry<Long, PcMeta> e : lc.pcs.entrySet()) {
            PcMeta meta = e.getValue();
            if (meta.owned() == 0) {
                continue;
            }
            ByteBuffer b = out.room(MAX_PC_BYTES)
                    .putLong(e.getKey())
                    .putShort(meta.owned())
                    .putShort(meta.zero());
            for (int s = 0; s < Layout.SEGMENTS_PER_PC; s++) {
                if (meta.state(s) == PcMeta.DATA) {
                    for (int c : meta.crcs(s)) {
                        b.putInt(c);
                    }
                }
            }
        }
    }

    static Loaded read(Path dir) throws IOException {
        return read(dir, BUFFER);
    }

    /**
     * Reads the checkpoint through a buffer of {@code bufferBytes} (at least {@link #MIN_BUFFER}),
     * twice: once to check the CRC32C at the end against everything before it, then to decode the
     * lcs. Any damage (a bad CRC, a count that runs past the end, trailing bytes, a missing parent)
     * is a {@link CorruptionException}.
     */
    static Loaded read(Path dir, int bufferBytes) throws IOException {
        Path file = dir.resolve(FILE);
        if (!Files.exists(file)) {
            return new Loaded(0, new HashMap<>());
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buffer = ByteBuffer.allocateDirect(Math.max(MIN_BUFFER, bufferBytes));
            long body = ch.size() - 4;
            if (body < HEADER_BYTES) {
                throw new CorruptionException("checkpoint too short");
            }
            checkCrc(ch, body, buffer);
            Source in = new Source(ch, body, buffer.clear().flip());
            ByteBuffer header = in.need(HEADER_BYTES);
            if (header.getLong() != MAGIC || header.getInt() != VERSION) {
                throw new CorruptionException("not a checkpoint of this version");
            }
            long generation = header.getLong();
            int count = header.getInt();
            if (count < 0) {
                throw new CorruptionException("checkpoint with " + count + " lcs");
            }
            Map<Long, Lc> lcs = new HashMap<>();
            Map<Long, Long> parents = new HashMap<>();
            for (int i = 0; i < count; i++) {
                Lc lc = decode(in, dir, parents);
                lcs.put(lc.id, lc);
            }
            if (!in.atEnd()) {
                throw new CorruptionException("trailing bytes in checkpoint");
            }
            for (Map.Entry<Long, Long> e : parents.entrySet()) {
                Lc parent = lcs.get(e.getValue());
                if (parent == null) {
                    throw new CorruptionException("checkpoint names missing parent " + e.getValue());
                }
                lcs.get(e.getKey()).parent = parent;
                parent.children++;
            }
            return new Loaded(generation, lcs);
        } catch (BufferUnderflowException e) {
            throw new CorruptionException("checkpoint truncated");
        }
    }

    private static void checkCrc(FileChannel ch, long body, ByteBuffer buffer) throws IOException {
        CRC32C crc = new CRC32C();
        long at = 0;
        while (at < body) {
            buffer.clear().limit((int) Math.min(buffer.capacity(), body - at));
            int n = ch.read(buffer, at);
            if (n < 0) {
                throw new CorruptionException("checkpoint truncated");
            }
            crc.update(buffer.flip());
            at += n;
        }
        ByteBuffer stored = ByteBuffer.allocate(4);
        while (stored.hasRemaining() && ch.read(stored, body + stored.position()) >= 0) {
            // a file reads short only at its end, which the loop condition then sees
        }
        if (stored.hasRemaining() || (int) crc.getValue() != stored.getInt(0)) {
            throw new CorruptionException("checkpoint CRC mismatch");
        }
    }

    /** The checkpoint's body read sequentially through one buffer. */
    private static final class Source {
        private final FileChannel channel;
        private final long end;
        private final ByteBuffer buffer;
        private long next;

        Source(FileChannel channel, long end, ByteBuffer buffer) {
            this.channel = channel;
            this.end = end;
            this.buffer = buffer;
        }

        /** The buffer, with at least {@code bytes} (at most a PC's worth) readable, or underflow at the end. */
        ByteBuffer need(int bytes) throws IOException {
            if (buffer.remaining() < bytes) {
                buffer.compact();
                while (buffer.position() < bytes && next < end) {
                    buffer.limit((int) Math.min(buffer.capacity(), buffer.position() + (end - next)));
                    int n = channel.read(buffer, next);
                    if (n < 0) {
                        break;
                    }
                    next += n;
                }
                buffer.flip();
                if (buffer.remaining() < bytes) {
                    throw new BufferUnderflowException();
                }
            }
            return buffer;
        }

        boolean atEnd() {
            return !buffer.hasRemaining() && next >= end;
        }
    }

    private static Lc decode(Source in, Path dir, Map<Long, Long> parents) throws IOException {
        ByteBuffer b = in.need(LC_BYTES);
        long id = b.getLong();
        boolean hasParent = b.get() != 0;
        long parentId = b.getLong();
        Lc lc = new Lc(id, dir, null, b.getLong(), b.get() != 0);
        if (hasParent) {
            parents.put(id, parentId);
        }
        int pcCount = b.getInt();
        for (int p = 0; p < pcCount; p++) {
            b = in.need(12);
            long pcIndex = b.getLong();
            short owned = b.getShort();
            short zero = b.getShort();
            PcMeta meta = lc.pcForWrite(pcIndex);
            for (int s = 0; s < Layout.SEGMENTS_PER_PC; s++) {
                int bit = 1 << s;
                if ((owned & bit) == 0) {
                    continue;
                }
                if ((zero & bit) != 0) {
                    meta.setZero(s);
                } else {
                    b = in.need(4 * Layout.BLOCKS_PER_SEGMENT);
                    int[] c = new int[Layout.BLOCKS_PER_SEGMENT];
                    for (int k = 0; k < c.length; k++) {
                        c[k] = b.getInt();
                    }
                    meta.setData(s, c);
                }
            }
        }
        return lc;
    }
}
