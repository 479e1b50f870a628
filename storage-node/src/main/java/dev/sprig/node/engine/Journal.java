package dev.sprig.node.engine;

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
import java.util.zip.CRC32C;

/**
 * The append-only metadata journal {@code journal-<generation>.log}. Each record is framed as
 * {@code [int length][int crc32c(body)][body]}; replay stops at the first frame that is short or
 * whose CRC does not match (a torn tail), and the file is truncated there before appending again.
 *
 * <p>A record's position (its lsn) is its index in the file. Every append is one {@code write}
 * system call, so a record handed to the kernel survives {@code kill -9} even before {@link #force}.
 */
final class Journal implements Closeable {

    private static final int MAX_BODY = 64 << 20;

    private final FileChannel channel;
    private long records;
    private long bytes;
    private volatile long forcedBytes;
    /** Whether bytes of a failed append may lie past {@code bytes}, to be cut before the next append. */
    private boolean tornTail;
    /** One fsync at a time: callers that queue behind one find their records forced by it (group commit). */
    private final ReentrantLock forcing = new ReentrantLock();

    private Journal(FileChannel channel, long records, long bytes) {
        this.channel = channel;
        this.records = records;
        this.bytes = bytes;
        this.forcedBytes = bytes;
    }

    static Path path(Path dir, long generation) {
        return dir.resolve("journal-" + generation + ".log");
    }

    /** The valid records of a journal file and the length of its valid prefix. */
    record Contents(List<JournalRecord> records, long validBytes) {}

    static Contents read(Path file) throws IOException {
        List<JournalRecord> records = new ArrayList<>();
        if (!Files.exists(file)) {
            return new Contents(records, 0);
        }
        ByteBuffer all = ByteBuffer.wrap(Files.readAllBytes(file));
        long valid = 0;
        while (all.remaining() >= 8) {
            int length = all.getInt();
            int crc = all.getInt();
            if (length <= 0 || length > MAX_BODY || length > all.remaining()) {
                break;
            }
            ByteBuffer body = all.slice(all.position(), length);
            CRC32C c = new CRC32C();
            c.update(body.duplicate());
            if ((int) c.getValue() != crc) {
                break;
            }
            try {
                records.add(JournalRecord.decode(body));
            } catch (BufferUnderflowException | CorruptionException e) {
                break;
            }
            all.position(all.position() + length);
            valid = all.position();
        }
        return new Contents(records, valid);
    }

    /** Opens a journal for appending after its first {@code validBytes} ({@code records} records). */
    static Journal openForAppend(Path file, long records, long validBytes) throws IOException {
        FileChannel ch =
                FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        ch.truncate(validBytes);
        ch.position(validBytes);
        return new Journal(ch, records, validBytes);
    }

    /** Appends one record and returns its lsn. Not durable until {@link #force}. */
    synchronized long append(JournalRecord record) throws IOException {
        ByteBuffer body = record.encode();
        CRC32C c = new CRC32C();
        c.update(body.duplicate());
        ByteBuffer frame = ByteBuffer.allocate(8 + body.remaining())
                .putInt(body.remaining())
                .putInt((int) c.getValue())
                .put(body)
                .flip();
        if (tornTail) {
            cutTornTail();
        }
        try {
            while (frame.hasRemaining()) {
                channel.write(frame);
            }
        } catch (IOException e) {
            // A frame written in part (the disk filled up) must not stay: replay stops at the first
            // bad frame, so every record appended after it would be lost on the next open.
            tornTail = true;
            try {
                cutTornTail();
            } catch (IOException notCut) {
                e.addSuppressed(notCut);
            }
            throw e;
        }
        bytes += frame.limit();
        return records++;
    }

    private void cutTornTail() throws IOException {
        channel.truncate(bytes);
        channel.position(bytes);
        tornTail = false;
    }

    /**
     * Makes every record appended before the call durable; a no-op when a concurrent call already
     * did. Callers may force outside the engine lock: concurrent ones then share one fsync. A
     * checkpoint forces the journal before it retires it, so forcing a retired journal returns at once.
     */
    void force(Durability durability) {
        long target;
        synchronized (this) {
            target = bytes;
        }
        if (forcedBytes >= target) {
            return;
        }
        forcing.lock();
        try {
            if (forcedBytes >= target) {
                return;
            }
            long upTo;
            synchronized (this) {
                upTo = bytes;
            }
            durability.force(channel, false, "journal");
            forcedBytes = Math.max(forcedBytes, upTo);
        } finally {
            forcing.unlock();
        }
    }

    synchronized long sizeBytes() {
        return bytes;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
