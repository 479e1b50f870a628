package dev.sprig.node.rebuild;

/**
 * An lc's rebuild source did not deliver a segment a live write needed, so the write was refused
 * before it changed anything: the other node failed, not this one (HTTP 502, NBD {@code EIO}).
 */
public final class SourceUnreadableException extends RuntimeException {

    public SourceUnreadableException(String message) {
        super(message);
    }

    /** The stable code a client of the node API sees, as for a copy whose source failed. */
    public String code() {
        return "SOURCE_UNREADABLE";
    }
}
