package dev.sprig.engine;

import java.io.IOException;
import java.util.Locale;

/** Turns an I/O failure into the engine failure a caller acts on. */
final class IoFailure {

    private IoFailure() {}

    /**
     * {@link NoSpaceException} when the file system is full or a quota is used up ({@code ENOSPC},
     * {@code EDQUOT}, {@code EFBIG}), else {@link EngineIoException}. Java reports no errno, only the
     * C library's text for it, so the text is what is matched.
     */
    static EngineException of(String operation, IOException cause) {
        String message = String.valueOf(cause.getMessage()).toLowerCase(Locale.ROOT);
        if (message.contains("no space left on device")
                || message.contains("disk quota exceeded")
                || message.contains("file too large")) {
            return new NoSpaceException(operation, cause);
        }
        return new EngineIoException(operation, cause);
    }
}
