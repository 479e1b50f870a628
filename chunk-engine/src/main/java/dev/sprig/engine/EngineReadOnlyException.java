package dev.sprig.engine;

import java.io.IOException;
import org.jspecify.annotations.Nullable;

/**
 * An fsync failed, so the engine no longer changes anything until it is reopened: writes, flushes
 * and lineage changes are refused, reads go on. What was acknowledged as durable before the failure
 * still is; what the failed call was doing is not.
 */
public final class EngineReadOnlyException extends EngineException {

    EngineReadOnlyException(String reason, @Nullable IOException cause) {
        super("engine is read-only until restarted: " + reason, cause);
    }

    @Override
    public String code() {
        return "READ_ONLY";
    }
}
