package dev.sprig.engine;

/** An lc with this id already exists. */
public final class LcExistsException extends EngineException {

    private final long lcId;

    LcExistsException(long lcId) {
        super("lc " + lcId + " already exists");
        this.lcId = lcId;
    }

    public long lcId() {
        return lcId;
    }

    @Override
    public String code() {
        return "LC_EXISTS";
    }
}
