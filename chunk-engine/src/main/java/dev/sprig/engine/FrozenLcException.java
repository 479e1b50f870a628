package dev.sprig.engine;

/**
 * The lc is frozen (an image or snapshot) and the operation would change it. A client that still
 * writes to an lc a snapshot froze gets this and refreshes its attachment.
 */
public final class FrozenLcException extends EngineException {

    private final long lcId;

    FrozenLcException(long lcId, String operation) {
        super("lc " + lcId + " is frozen: " + operation + " refused");
        this.lcId = lcId;
    }

    public long lcId() {
        return lcId;
    }

    @Override
    public String code() {
        return "LC_FROZEN";
    }
}
