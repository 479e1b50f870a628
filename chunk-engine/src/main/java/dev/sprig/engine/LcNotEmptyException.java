package dev.sprig.engine;

/**
 * The lc already has content (data of its own, or a parent it reads from), so a file cannot become
 * its content: only a fresh root lc adopts a file.
 */
public final class LcNotEmptyException extends EngineException {

    LcNotEmptyException(long lcId, String why) {
        super("lc " + lcId + " " + why + ": only a fresh root lc adopts a file");
    }

    @Override
    public String code() {
        return "LC_NOT_EMPTY";
    }
}
