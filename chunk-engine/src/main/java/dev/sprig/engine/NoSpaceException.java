package dev.sprig.engine;

import java.io.IOException;

/**
 * The file system is full (or the quota is used up). The call changed nothing durable and the engine
 * stays writable: the same call succeeds once space is freed.
 */
public final class NoSpaceException extends EngineException {

    NoSpaceException(String message, IOException cause) {
        super(message + ": " + cause.getMessage(), cause);
    }

    @Override
    public String code() {
        return "NO_SPACE";
    }
}
