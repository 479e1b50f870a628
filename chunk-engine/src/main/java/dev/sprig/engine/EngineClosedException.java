package dev.sprig.engine;

/** The engine was closed. */
public final class EngineClosedException extends EngineException {

    EngineClosedException() {
        super("engine is closed");
    }

    @Override
    public String code() {
        return "ENGINE_CLOSED";
    }
}
