package dev.sprig.api.image;

import java.util.Locale;

/** How a source holds an image's bytes; the name is also qemu-img's and qemu-nbd's name for it. */
public enum ImageFormat {
    /** The disk's bytes as they are. */
    RAW,
    /** QEMU's copy-on-write format, as cloud images ship. */
    QCOW2;

    public String column() {
        return name().toLowerCase(Locale.ROOT);
    }

    static ImageFormat ofColumn(String value) {
        return valueOf(value.toUpperCase(Locale.ROOT));
    }
}
