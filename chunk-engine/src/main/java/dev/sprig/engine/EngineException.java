package dev.sprig.engine;

/**
 * Every failure the engine reports. The hierarchy is sealed so that a caller (the HTTP layer, the
 * embedded backend) can map each case to a stable error code exhaustively; {@link #code()} is that
 * code.
 */
public abstract sealed class EngineException extends RuntimeException
        permits UnknownLcException,
                LcExistsException,
                FrozenLcException,
                LcHasChildrenException,
                LcNotEmptyException,
                ParentNotFrozenException,
                OutOfRangeException,
                CorruptionException,
                EngineIoException,
                NoSpaceException,
                EngineReadOnlyException,
                EngineClosedException {

    EngineException(String message) {
        super(message);
    }

    EngineException(String message, Throwable cause) {
        super(message, cause);
    }

    /** A stable, upper-case identifier of the failure, e.g. {@code LC_FROZEN}. */
    public abstract String code();
}
