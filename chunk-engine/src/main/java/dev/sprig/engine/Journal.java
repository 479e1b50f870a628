package dev.sprig.engine;

import java.io.Closeable;
import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.zip.CRC32C;
import org.jspecify.annotations.Nullable;

/**
 * The append-only metadata journal {@code journal-<generation>.log}. Each record is framed as
 * {@code [int length][int crc32c(body)][body]}; replay stops at the first frame that is short, too
 * large or whose CRC does not match (a torn tail). A journal is never appended to after a replay
 * (open starts a new one), and an append that fails part way is cut off before the next one.
 *
 * <p>A record's position (its lsn) is its index in the file. Every append is one {@code write}
 * system call, so a record handed to the kernel survives {@code kill -9} even before {@link #force}.
 */
final class Journal implements Closeable {

    /** The largest record body replay accepts; append refuses larger ones. */
    static final int MAX_BODY = 64 << 20;

    private final FileChannel channel;
    private final int maxBody;
    /** Why appends are refused: a failed append left bytes that could not be cut off. */
    private @Nullable Throwable failed;

    private long records;
    /** Written under this object's monitor; read without it by the checkpoint policy. */
    private volatile long bytes;

    private volatile long forcedBytes;
    /** {@link System#nanoTime} of the first append, 0 while the journal holds no record of its own. */
    private volatile long firstAppendNanos;
    /** One fsync at a time: callers that queue behind one find their records forced by it (group commit). */
    private final ReentrantLock forcing = new ReentrantLock();
    /** Told (once, outside this object's monitor) when the journal first reaches {@code fullBytes}. */
    private final Runnable onFull;

    private final long fullBytes;
    private boolean toldFull;

    private Journal(FileChannel channel, long records, long bytes, long fullBytes, Runnable onFull, int maxBody) {
        this.channel = channel;
        this.maxBody = maxBody;
        this.records = records;
        this.bytes = bytes;
        this.forcedBytes = bytes;
        this.fullBytes = fullBytes;
        this.onFull = onFull;
    }

    static Path path(Path dir, long generation) {
        return dir.resolve("journal-" + generation + ".log");
    }

    /** Bytes read from a journal file at a time on open: records are decoded as they stream past. */
    static final int READ_BUFFER = 1 << 20;

    /**
     * What streaming a journal file found: how many valid records, the length of the valid prefix and
     * the file's length (longer than the prefix when the tail is torn).
     */
    record Scan(long records, long validBytes, long fileBytes) {
        boolean torn() {
            return validBytes < fileBytes;
        }
    }

    /**
     * Streams the valid records of a journal file to {@code sink} in order, reading
     * {@code bufferBytes} at a time, so that memory is bounded by the largest record, not by the
     * file: a journal of any length can be replayed. Stops at the first frame that is short, too
     * large, fails its CRC or does not decode (a torn tail). A missing file has no records.
     */
    static Scan scan(Path file, int bufferBytes, Consumer<JournalRecord> sink) throws IOException {
        if (!Files.exists(file)) {
            return new Scan(0, 0, 0);
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long fileBytes = ch.size();
            FrameReader in = new FrameReader(ch, bufferBytes);
            ByteBuffer header = ByteBuffer.allocate(8);
            long records = 0;
            long valid = 0;
            while (in.readFully(header.clear())) {
                int length = header.getInt(0);
                int crc = header.getInt(4);
                if (length <= 0 || length > MAX_BODY || length > fileBytes - valid - 8) {
                    break;
                }
                ByteBuffer body = ByteBuffer.allocate(length);
                if (!in.readFully(body)) {
                    break;
                }
                body.flip();
                CRC32C c = new CRC32C();
                c.update(body.duplicate());
                if ((int) c.getValue() != crc) {
                    break;
                }
                JournalRecord record;
                try {
                    record = JournalRecord.decode(body);
                } catch (BufferUnderflowException | CorruptionException e) {
                    break;
                }
                sink.accept(record);
                records++;
                valid += 8 + length;
            }
            return new Scan(records, valid, fileBytes);
        }
    }

    /** The valid records of a journal file and the length of its valid prefix. */
    record Contents(List<JournalRecord> records, long validBytes) {}

    /** Every valid record of a (small) journal file in memory: for tests and tools, not for open. */
    static Contents read(Path file) throws IOException {
        List<JournalRecord> records = new ArrayList<>();
        Scan scan = scan(file, READ_BUFFER, records::add);
        return new Contents(records, scan.validBytes());
    }

    /** Sequential reads through one buffer of a fixed size, whatever the size of the frames. */
    private static final class FrameReader {
        private final FileChannel channel;
        private final ByteBuffer buffer;

        FrameReader(FileChannel channel, int bufferBytes) {
            this.channel = channel;
            this.buffer = ByteBuffer.allocate(bufferBytes).flip();
        }

        /** Fills {@code dst}; false if the file ended first. */
        boolean readFully(ByteBuffer dst) throws IOException {
            while (dst.hasRemaining()) {
                if (!buffer.hasRemaining()) {
                    buffer.clear();
                    int n = channel.read(buffer);
                    buffer.flip();
                    if (n < 0) {
                        return false;
                    }
                }
                int n = Math.min(dst.remaining(), buffer.remaining());
                dst.put(dst.position(), buffer, buffer.position(), n);
                dst.position(dst.position() + n);
                buffer.position(buffer.position() + n);
            }
            return true;
        }
    }

    /** Creates (or empties) a journal file and opens it for appending. */
    static Journal create(Path file) throws IOException {
        return create(file, Long.MAX_VALUE, () -> {});
    }

    /**
     * Creates (or empties) a journal file and opens it for appending; {@code onFull} runs once, on the
     * thread whose append first takes the journal to {@code fullBytes} or more, after that append.
     * It must not block: it is how a full journal asks for a checkpoint.
     */
    static Journal create(Path file, long fullBytes, Runnable onFull) throws IOException {
        return create(file, fullBytes, onFull, MAX_BODY);
    }

    /** A journal that refuses records larger than {@code maxBody} (for tests: smaller than {@link #MAX_BODY}). */
    static Journal create(Path file, long fullBytes, Runnable onFull, int maxBody) throws IOException {
        FileChannel ch =
                FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        ch.truncate(0);
        return new Journal(ch, 0, 0, fullBytes, onFull, Math.min(maxBody, MAX_BODY));
    }

    /**
     * Appends one record and returns its lsn (its index in this file). Not durable until {@link
     * #force}. A record larger than replay accepts is refused with an {@link IllegalArgumentException}
     * (a bug of the caller, which must split it): written, it would read as a torn tail and take every
     * later record with it.
     */
    long append(JournalRecord record) throws IOException {
        ByteBuffer body = record.encode();
        if (body.remaining() > maxBody) {
            throw new IllegalArgumentException(
                    "journal record of " + body.remaining() + " bytes is larger than replay accepts (" + maxBody
                            + " bytes): " + record.getClass().getSimpleName());
        }
        CRC32C c = new CRC32C();
        c.update(body.duplicate());
        ByteBuffer frame = ByteBuffer.allocate(8 + body.remaining())
                .putInt(body.remaining())
                .putInt((int) c.getValue())
                .put(body)
                .flip();
        long lsn;
        boolean full;
        synchronized (this) {
            if (failed != null) {
                throw new IOException("journal refuses appends: a failed append could not be cut off", failed);
            }
            try {
                while (frame.hasRemaining()) {
                    channel.write(frame);
                }
            } catch (Throwable e) {
                cutOffFailedAppend(e);
                throw e;
            }
            if (records == 0) {
                firstAppendNanos = System.nanoTime();
            }
            bytes += frame.limit();
            lsn = records++;
            full = !toldFull && bytes >= fullBytes;
            toldFull |= full;
        }
        if (full) {
            onFull.run();
        }
        return lsn;
    }

    /**
     * Removes what a failed append wrote (part of a frame, say, when the disk filled up): a later
     * record written after it would be lost with it on replay. If that fails too, the journal
     * refuses every later append. Under this object's monitor.
     */
    private void cutOffFailedAppend(Throwable cause) {
        try {
            channel.truncate(bytes);
            channel.position(bytes);
        } catch (Throwable e) {
            failed = e;
            cause.addSuppressed(e);
        }
    }

    /**
     * Makes every record appended before the call durable; a no-op when a concurrent call already
     * did. Callers may force outside the engine lock: concurrent ones then share one fsync. A
     * checkpoint forces the journal before it retires it, so forcing a retired journal returns at once.
     */
    void force(Durability durability) {
        long target = bytes;
        if (forcedBytes >= target) {
            return;
        }
        forcing.lock();
        try {
            if (forcedBytes >= target) {
                return;
            }
            long upTo = bytes;
            durability.force(channel, false, "journal");
            forcedBytes = Math.max(forcedBytes, upTo);
        } finally {
            forcing.unlock();
        }
    }

    long sizeBytes() {
        return bytes;
    }

    /** How long ago the oldest record of this journal was appended; 0 for an empty journal. */
    long ageNanos() {
        // records first: an append sets firstAppendNanos before it counts its record, under the
        // monitor records() takes, so a count above zero is never paired with the 0 of an empty
        // journal (that read the other way round made a fresh journal look hours old, and the
        // checkpointer write a checkpoint the moment a first record came)
        long n = records();
        long first = firstAppendNanos;
        return n == 0 ? 0 : System.nanoTime() - first;
    }

    synchronized long records() {
        return records;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
