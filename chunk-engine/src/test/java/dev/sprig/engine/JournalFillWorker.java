package dev.sprig.engine;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Child JVM for {@link JournalTest}: run under a file size limit ({@code ulimit -f}), appends
 * materialize records to a journal until one fails part way ({@code EFBIG}, as a full disk fails
 * with {@code ENOSPC}), then appends two small records that fit in what the failed one left.
 * Prints {@code FULL <records>} and then {@code APPENDED}.
 */
final class JournalFillWorker {

    public static void main(String[] args) throws IOException {
        try (Journal journal = Journal.create(Path.of(args[0]))) {
            int appended = 0;
            try {
                while (true) {
                    journal.append(new JournalRecord.Materialize(1, appended, 0, new int[Layout.BLOCKS_PER_SEGMENT]));
                    appended++;
                }
            } catch (IOException full) {
                System.out.println("FULL " + appended);
            }
            journal.append(new JournalRecord.Freeze(1));
            journal.append(new JournalRecord.Freeze(2));
            journal.force(new Durability(Fsync.SYSTEM));
            System.out.println("APPENDED");
        }
    }
}
