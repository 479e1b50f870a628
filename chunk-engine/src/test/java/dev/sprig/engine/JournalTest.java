package dev.sprig.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every record a journal acknowledges is replayed: none is too large to read, none lands after garbage. */
class JournalTest {

    @TempDir
    Path dir;

    @Test
    void aRecordLargerThanReplayAcceptsIsRefusedAndLeavesTheJournalWhole() throws IOException {
        Path file = dir.resolve("journal-1.log");
        try (Journal journal = Journal.create(file, Long.MAX_VALUE, () -> {}, 4096)) {
            journal.append(new JournalRecord.Freeze(1));
            JournalRecord.Flush tooLarge = new JournalRecord.Flush(1, segments(20));
            assertThat(tooLarge.encode().remaining()).isGreaterThan(4096);

            assertThatThrownBy(() -> journal.append(tooLarge))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("larger than replay accepts");
            journal.append(new JournalRecord.Freeze(2));
        }

        Journal.Contents read = Journal.read(file);
        assertThat(read.records()).containsExactly(new JournalRecord.Freeze(1), new JournalRecord.Freeze(2));
        assertThat(read.validBytes()).isEqualTo(Files.size(file));
    }

    @Test
    void theFlushOfAnyNumberOfSegmentsIsSplitIntoRecordsThatFitAFrame() {
        assertThat(JournalRecord.Flush.encodedBytes(JournalRecord.Flush.MAX_SEGMENTS))
                .as("largest flush record")
                .isLessThan(Journal.MAX_BODY / 2);
        List<JournalRecord.FlushedSegment> segments = segments(7);

        List<JournalRecord.Flush> records = JournalRecord.Flush.split(9, segments, 3);

        assertThat(records).extracting(r -> r.segments().size()).containsExactly(3, 3, 1);
        assertThat(records).allSatisfy(r -> assertThat(r.lcId()).isEqualTo(9));
        assertThat(records.stream().flatMap(r -> r.segments().stream()).toList())
                .containsExactlyElementsOf(segments);
        assertThat(JournalRecord.Flush.split(9, List.of(), 3)).isEmpty();
    }

    @Test
    void anAppendThatFailsPartWayIsCutOffSoLaterRecordsReplay() throws Exception {
        Path file = dir.resolve("journal-1.log");
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // 64 KiB: not a multiple of the 282-byte materialize frame, so one is written in part
        Process worker = new ProcessBuilder(
                        "bash",
                        "-c",
                        "ulimit -f 64 && exec \"$0\" -XX:-UsePerfData -Xshare:off -cp \"$1\" "
                                + JournalFillWorker.class.getName() + " \"$2\"",
                        java,
                        classPath,
                        file.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        String out = new String(worker.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(worker.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(out).contains("FULL ").contains("APPENDED");
        assertThat(worker.exitValue()).isZero();
        int full = Integer.parseInt(out.lines()
                .filter(l -> l.startsWith("FULL "))
                .findFirst()
                .orElseThrow()
                .substring(5));

        List<JournalRecord> read = new ArrayList<>();
        Journal.Scan scan = Journal.scan(file, Journal.READ_BUFFER, read::add);

        assertThat(scan.torn()).as("garbage in the journal").isFalse();
        assertThat(scan.records()).isEqualTo(full + 2L);
        assertThat(read.subList(full, full + 2))
                .containsExactly(new JournalRecord.Freeze(1), new JournalRecord.Freeze(2));
    }

    private static List<JournalRecord.FlushedSegment> segments(int n) {
        List<JournalRecord.FlushedSegment> segments = new ArrayList<>();
        int[] crcs = new int[Layout.BLOCKS_PER_SEGMENT];
        for (int i = 0; i < n; i++) {
            segments.add(new JournalRecord.FlushedSegment(i, i % Layout.SEGMENTS_PER_PC, i, crcs));
        }
        return Collections.unmodifiableList(segments);
    }
}
