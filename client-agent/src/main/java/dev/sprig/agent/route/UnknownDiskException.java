package dev.sprig.agent.route;

/** api-server knows no disk by that extern_id (or the API key may not see it). */
public final class UnknownDiskException extends Exception {

    public UnknownDiskException(String externId) {
        super("no disk " + externId);
    }
}
