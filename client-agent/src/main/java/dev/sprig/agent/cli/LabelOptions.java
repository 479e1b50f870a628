package dev.sprig.agent.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Option;

/**
 * {@code --label KEY=VALUE}, repeatable: the labels a create gives, or those a listing keeps (all
 * of them). api-server checks the keys and values and says what it refuses.
 */
final class LabelOptions {

    @Option(
            names = "--label",
            paramLabel = "KEY=VALUE",
            description = "A label (repeat for several): on a create, given to what is made; on a list, only"
                    + " what carries every one of them.")
    @Nullable
    Map<String, String> labels;

    /** The labels given, in order; none when none was. */
    Map<String, String> labels() {
        return labels == null ? Map.of() : new LinkedHashMap<>(labels);
    }

    /** The labels given, or null when none was (a create then sends none). */
    @Nullable
    Map<String, String> orNull() {
        return labels == null || labels.isEmpty() ? null : labels();
    }
}
