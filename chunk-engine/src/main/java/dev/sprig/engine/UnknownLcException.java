package dev.sprig.engine;

/** The lc does not exist (never created, or deleted). */
public final class UnknownLcException extends EngineException {

    private final long lcId;

    UnknownLcException(long lcId) {
        super("unknown lc " + lcId);
        this.lcId = lcId;
    }

    public long lcId() {
        return lcId;
    }

    @Override
    public String code() {
        return "UNKNOWN_LC";
    }
}
