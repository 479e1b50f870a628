package dev.sprig.node.control;

/**
 * A batch of lc definitions cannot be applied as a whole: an lc exists with other attributes, a
 * parent is missing or not frozen, or the batch contradicts itself. Nothing of the batch is applied.
 */
public final class DefinitionConflictException extends RuntimeException {

    private final long lcId;

    DefinitionConflictException(long lcId, String message) {
        super("lc " + lcId + ": " + message);
        this.lcId = lcId;
    }

    public long lcId() {
        return lcId;
    }
}
