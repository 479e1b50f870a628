package dev.sprig.node.access;

/** What a data token lets its holder do with its lc. */
public enum DataAccess {
    /** Reads only: the export opens read-only, writes get EPERM. */
    READ(1),
    /** Reads and writes (a frozen lc stays read-only whatever the token says). */
    READ_WRITE(2);

    final int code;

    DataAccess(int code) {
        this.code = code;
    }

    static DataAccess ofCode(int code) {
        for (DataAccess access : values()) {
            if (access.code == code) {
                return access;
            }
        }
        throw new IllegalArgumentException("no data access " + code);
    }
}
