package dev.sprig.engine;

/** The operating system refused an I/O operation; the engine state for the call is unknown. */
public final class EngineIoException extends EngineException {

    EngineIoException(String message, java.io.IOException cause) {
        super(message + ": " + cause.getMessage(), cause);
    }

    @Override
    public String code() {
        return "IO_ERROR";
    }
}
