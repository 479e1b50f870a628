package dev.sprig.node.copy;

/**
 * A copy that did not happen, or stopped part way, with a stable code: {@link
 * Reason#INVALID_ARGUMENT} when the request itself is wrong (a range not on a segment, a source that
 * is not a bare node endpoint) and nothing was read; {@link Reason#SOURCE_UNREADABLE} when the other
 * node did not deliver the range, leaving the segments before the failure written.
 */
public final class CopyException extends RuntimeException {

    public enum Reason {
        INVALID_ARGUMENT,
        SOURCE_UNREADABLE
    }

    private final Reason reason;

    private CopyException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    static CopyException invalid(String message) {
        return new CopyException(Reason.INVALID_ARGUMENT, message);
    }

    static CopyException sourceUnreadable(String message) {
        return new CopyException(Reason.SOURCE_UNREADABLE, message);
    }

    public Reason reason() {
        return reason;
    }

    /** The stable code a client sees. */
    public String code() {
        return reason.name();
    }
}
