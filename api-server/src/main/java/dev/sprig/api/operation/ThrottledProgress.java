package dev.sprig.api.operation;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Passes on the first report, the first that shows work done (a copy announces 0 of its total
 * before its first write, and a client polling for movement must see the first step at once), and
 * then at most one report per interval. A flatten reports every PC (thousands a second on a fast
 * disk); clients poll far less often than that, and each pass-on is a database write. The final figure is written when the operation ends, so dropping reports here
 * loses nothing a client could see at the end. Used by one thread at a time.
 */
final class ThrottledProgress implements OperationProgress {

    private final long intervalNanos;
    private final LongSupplier nanoTime;
    private final OperationProgress target;
    private boolean reported;
    private boolean reportedWork;
    private long lastReport;

    ThrottledProgress(Duration interval, LongSupplier nanoTime, OperationProgress target) {
        this.intervalNanos = interval.toNanos();
        this.nanoTime = nanoTime;
        this.target = target;
    }

    @Override
    public void report(long done, long total) {
        long now = nanoTime.getAsLong();
        boolean firstWork = done > 0 && !reportedWork;
        if (reported && !firstWork && now - lastReport < intervalNanos) {
            return;
        }
        reported = true;
        reportedWork |= done > 0;
        lastReport = now;
        target.report(done, total);
    }
}
