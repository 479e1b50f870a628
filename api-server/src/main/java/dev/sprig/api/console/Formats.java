package dev.sprig.api.console;

import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import org.jspecify.annotations.Nullable;
import org.springframework.stereotype.Component;

/** How the console's pages write sizes, times and ratios; templates reach it as {@code @formats}. */
@Component("formats")
class Formats {

    private static final String[] UNITS = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};

    public String bytes(@Nullable Long bytes) {
        if (bytes == null) {
            return "—";
        }
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < UNITS.length - 1) {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? bytes + " B" : String.format(Locale.ROOT, "%.1f %s", value, UNITS[unit]);
    }

    /** {@code part} of {@code whole} as a percentage; a dash when there is no whole. */
    public String percent(long part, long whole) {
        return whole <= 0 ? "—" : String.format(Locale.ROOT, "%.0f %%", 100.0 * part / whole);
    }

    public long percentValue(long part, long whole) {
        return whole <= 0 ? 0 : Math.min(100, Math.round(100.0 * part / whole));
    }

    public String ago(@Nullable Instant then) {
        if (then == null) {
            return "—";
        }
        Duration since = Duration.between(then, Instant.now());
        if (since.isNegative() || since.toSeconds() < 60) {
            return "just now";
        }
        if (since.toMinutes() < 60) {
            return since.toMinutes() + " min ago";
        }
        if (since.toHours() < 48) {
            return since.toHours() + " h ago";
        }
        return since.toDays() + " days ago";
    }

    public String lower(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT);
    }
}
