package dev.sprig.api.operation;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ThrottledProgressTest {

    long now;
    final List<Long> written = new ArrayList<>();
    final ThrottledProgress progress =
            new ThrottledProgress(Duration.ofMillis(500), () -> now, (done, total) -> written.add(done));

    @Test
    void theFirstReportIsWrittenAtOnce() {
        progress.report(1, 100);

        assertThat(written).containsExactly(1L);
    }

    @Test
    void reportsWithinAnIntervalOfTheLastWrittenOneAreDropped() {
        progress.report(1, 100);
        for (long pc = 2; pc <= 60; pc++) {
            now += Duration.ofMillis(10).toNanos();
            progress.report(pc, 100);
        }

        assertThat(written).containsExactly(1L, 51L);
    }

    @Test
    void theFirstReportOfWorkDoneIsWrittenAtOnceAfterAReportOfNone() {
        progress.report(0, 100);
        now += Duration.ofMillis(10).toNanos();
        progress.report(1, 100);
        now += Duration.ofMillis(10).toNanos();
        progress.report(2, 100);

        assertThat(written).containsExactly(0L, 1L);
    }

    @Test
    void aReportAfterAQuietIntervalIsWritten() {
        progress.report(1, 100);
        now += Duration.ofMillis(499).toNanos();
        progress.report(2, 100);
        now += Duration.ofMillis(1).toNanos();
        progress.report(3, 100);

        assertThat(written).containsExactly(1L, 3L);
    }
}
