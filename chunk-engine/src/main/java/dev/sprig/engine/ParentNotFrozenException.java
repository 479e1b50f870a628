package dev.sprig.engine;

/**
 * A child can only be created under a frozen lc: in ROW every ancestor is immutable, which is what
 * lets the engine cache the owner of each segment of a frozen lc for good.
 */
public final class ParentNotFrozenException extends EngineException {

    private final long parentLcId;

    ParentNotFrozenException(long parentLcId) {
        super("parent lc " + parentLcId + " is not frozen");
        this.parentLcId = parentLcId;
    }

    public long parentLcId() {
        return parentLcId;
    }

    @Override
    public String code() {
        return "PARENT_NOT_FROZEN";
    }
}
