package dev.sprig.api.operation;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Passes on the first report and then at most one report per interval. A flatten reports every PC
 * (thousands a second on a fast disk); clients poll far less often than that, and each pass-on is
 * a database write. The final figure is written when the operation ends, so dropping reports here
 * loses nothing a client could see at the end. Used by one thread at a time.
 */
final class ThrottledProgress implements OperationProgress {

    private final long intervalNanos;
    private final LongSupplier nanoTime;
    private final OperationProgress target;
    private boolean reported;
    private long lastReport;

    ThrottledProgress(Duration interval, LongSupplier nanoTime, OperationProgress target) {
        this.intervalNanos = interval.toNanos();
        this.nanoTime = nanoTime;
        this.target = target;
    }

    @Override
    public void report(long done, long total) {
        long now = nanoTime.getAsLong();
        if (reported && now - lastReport < intervalNanos) {
            return;
        }
        reported = true;
        lastReport = now;
        target.report(done, total);
    }
}
