package dev.sprig.engine;

/** The lc still has children that read through it, so it cannot be deleted. */
public final class LcHasChildrenException extends EngineException {

    private final long lcId;
    private final int children;

    LcHasChildrenException(long lcId, int children) {
        super("lc " + lcId + " has " + children + " child lc(s)");
        this.lcId = lcId;
        this.children = children;
    }

    public long lcId() {
        return lcId;
    }

    public int children() {
        return children;
    }

    @Override
    public String code() {
        return "LC_HAS_CHILDREN";
    }
}
