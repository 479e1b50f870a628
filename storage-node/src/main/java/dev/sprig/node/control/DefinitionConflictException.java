package dev.sprig.node.control;

/**
 * A batch of lc definitions cannot be applied as a whole: an lc exists with other attributes, a
 * parent is missing or not frozen, or the batch contradicts itself. Nothing of the batch is applied.
 */
public final class DefinitionConflictException extends RuntimeException {

    DefinitionConflictException(long lcId, String message) {
        super("lc " + lcId + ": " + message);
    }

    DefinitionConflictException(String engineCode, String message) {
        super(message + " (" + engineCode + ")");
    }
}
