package dev.sprig.engine;

/** An offset, length, size or id is negative, overflows, or lies outside the lc. */
public final class OutOfRangeException extends EngineException {

    OutOfRangeException(String message) {
        super(message);
    }

    @Override
    public String code() {
        return "OUT_OF_RANGE";
    }
}
