package dev.sprig.agent.cli;

import java.io.PrintStream;
import java.util.function.LongConsumer;

/**
 * A one-line progress bar on stderr ({@code [#####.....]  52%  27/52 MiB}), redrawn at most every
 * percent, so stdout stays clean for scripts that read the ids the commands print.
 */
final class ProgressBar implements LongConsumer {

    private static final int WIDTH = 30;
    private static final long MIB = 1 << 20;

    private final PrintStream out;
    private final long total;
    private int shownPercent = -1;

    ProgressBar(PrintStream out, long total) {
        this.out = out;
        this.total = total;
    }

    @Override
    public synchronized void accept(long done) {
        int percent = total == 0 ? 100 : (int) (done * 100 / total);
        if (percent == shownPercent) {
            return;
        }
        shownPercent = percent;
        int filled = percent * WIDTH / 100;
        out.printf(
                "\r[%s%s] %3d%%  %d/%d MiB",
                "#".repeat(filled), ".".repeat(WIDTH - filled), percent, done / MIB, (total + MIB - 1) / MIB);
        if (percent == 100) {
            out.println();
        }
        out.flush();
    }
}
