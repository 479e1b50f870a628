package dev.sprig.api.lineage;

import java.util.Locale;

/** What an extern_id names; its prefix tells the kind at a glance. */
public enum ResourceKind {
    IMAGE("img"),
    DISK("disk"),
    SNAPSHOT("snap");

    private final String prefix;

    ResourceKind(String prefix) {
        this.prefix = prefix;
    }

    public String prefix() {
        return prefix;
    }

    /** The kind an extern_id names, by its prefix; an id no kind could have names nothing. */
    public static ResourceKind ofExternId(String externId) {
        for (ResourceKind kind : values()) {
            if (externId.startsWith(kind.prefix + "-")) {
                return kind;
            }
        }
        throw dev.sprig.api.error.SprigException.notFound(externId);
    }

    String column() {
        return name().toLowerCase(Locale.ROOT);
    }

    static ResourceKind ofColumn(String value) {
        return valueOf(value.toUpperCase(Locale.ROOT));
    }
}
