package dev.sprig.agent.cli;

import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/** Labels as the list commands print them: {@code k=v,k=v}, keys sorted; empty for none. */
final class Labelled {

    private Labelled() {}

    static String text(Map<String, String> labels) {
        return new TreeMap<>(labels)
                .entrySet().stream()
                        .map(label -> label.getKey() + "=" + label.getValue())
                        .collect(Collectors.joining(","));
    }
}
