package dev.sprig.api.lineage;

import dev.sprig.api.error.SprigException;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * An image's, disk's or snapshot's labels: a small map of plain strings a control plane sorts its
 * resources by ({@code team=render}, {@code fleet=sale-2026}). Bounded, so that a label cannot be
 * used to store data: at most {@value #MAX_LABELS} of them; a key of 1 to 63 letters, digits, '.',
 * '_', '-' or '/', starting with a letter or digit; a value of up to 63 letters, digits, '.', '_' or
 * '-' (empty allowed). Those characters need no escaping in JSON, a URL or a shell.
 */
public record Labels(SortedMap<String, String> values) {

    public static final int MAX_LABELS = 32;

    public static final Labels NONE = new Labels(Map.of());

    private static final Pattern KEY = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._/-]{0,62}");
    private static final Pattern VALUE = Pattern.compile("[A-Za-z0-9._-]{0,63}");

    public Labels(Map<String, String> values) {
        this(Collections.unmodifiableSortedMap(new TreeMap<>(values)));
    }

    public Labels {
        values = Collections.unmodifiableSortedMap(new TreeMap<>(values));
    }

    /** Labels as a client gave them; none when absent. Each key and value checked, and the count. */
    public static Labels of(@Nullable Map<String, String> given) {
        if (given == null) {
            return NONE;
        }
        given.forEach(Labels::requireLabel);
        requireCount(given.size());
        return new Labels(given);
    }

    /**
     * These labels with a JSON merge patch applied (RFC 7396): a key with a value sets it, a key with
     * null removes it, keys not named stay.
     */
    public Labels patched(Map<String, @Nullable String> patch) {
        TreeMap<String, String> next = new TreeMap<>(values);
        patch.forEach((key, value) -> {
            if (value == null) {
                next.remove(key);
            } else {
                requireLabel(key, value);
                next.put(key, value);
            }
        });
        requireCount(next.size());
        return new Labels(next);
    }

    /**
     * A listing's {@code label=key=value} parameters, all of which a resource must carry; none when
     * absent. A key asked for twice cannot be matched by any one value, and is refused.
     */
    public static Labels filter(@Nullable List<String> parameters) {
        if (parameters == null || parameters.isEmpty()) {
            return NONE;
        }
        TreeMap<String, String> wanted = new TreeMap<>();
        for (String parameter : parameters) {
            int equals = parameter.indexOf('=');
            if (equals < 0) {
                throw SprigException.invalidArgument("label must be key=value: '" + printable(parameter) + "'");
            }
            String key = parameter.substring(0, equals);
            String value = parameter.substring(equals + 1);
            requireLabel(key, value);
            if (wanted.put(key, value) != null) {
                throw SprigException.invalidArgument("label key '" + key + "' is asked for twice");
            }
        }
        requireCount(wanted.size());
        return new Labels(wanted);
    }

    /** Labels as {@link #json()} wrote them (read back from the database). */
    @SuppressWarnings("unchecked")
    public static Labels parse(String json) {
        return new Labels(tools.jackson.databind.json.JsonMapper.shared().readValue(json, TreeMap.class));
    }

    public boolean isEmpty() {
        return values.isEmpty();
    }

    /** As a JSON object, keys sorted; the allowed characters need no escaping. */
    public String json() {
        StringBuilder json = new StringBuilder("{");
        values.forEach((key, value) -> {
            if (json.length() > 1) {
                json.append(',');
            }
            json.append('"').append(key).append("\":\"").append(value).append('"');
        });
        return json.append('}').toString();
    }

    private static void requireLabel(String key, @Nullable String value) {
        if (key == null || !KEY.matcher(key).matches()) {
            throw SprigException.invalidArgument("label key '" + printable(String.valueOf(key))
                    + "' must be 1 to 63 letters, digits, '.', '_', '-' or '/', starting with a letter or digit");
        }
        if (value == null || !VALUE.matcher(value).matches()) {
            throw SprigException.invalidArgument("label '" + key + "' has value '" + printable(String.valueOf(value))
                    + "': a value is up to 63 letters, digits, '.', '_' or '-'");
        }
    }

    private static void requireCount(int count) {
        if (count > MAX_LABELS) {
            throw SprigException.invalidArgument(
                    "at most " + MAX_LABELS + " labels a resource; these would be " + count);
        }
    }

    /** What was refused, shortened and without control characters, for the error's detail. */
    private static String printable(String text) {
        String shown = text.length() > 80 ? text.substring(0, 80) + "…" : text;
        return shown.replaceAll("\\p{Cntrl}", "?");
    }
}
