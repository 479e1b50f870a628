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

    String column() {
        return name().toLowerCase(Locale.ROOT);
    }

    static ResourceKind ofColumn(String value) {
        return valueOf(value.toUpperCase(Locale.ROOT));
    }
}
