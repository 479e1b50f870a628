package dev.sprig.agent.route;

import dev.sprig.nbd.client.NbdCallback;
import java.io.IOException;
import org.jspecify.annotations.Nullable;

/**
 * A request to a node whose answer the node timeout watches ({@link NodeLink}): the callback itself
 * carries when it was sent and whether it was answered, so that watching costs no object of its own.
 * Everything here happens on the connection's event loop.
 */
abstract class Watched<T> implements NbdCallback<T> {

    long sentNanos;
    boolean answered;

    @Override
    public final void completed(int error, @Nullable T value) {
        answered = true;
        answer(error, value);
    }

    @Override
    public final void broken(IOException failure) {
        answered = true;
        fail(failure);
    }

    /** The node answered: its NBD error number, 0 with the value on success. */
    abstract void answer(int error, @Nullable T value);

    /** The connection broke, could not open, or was closed because the node did not answer in time. */
    abstract void fail(IOException failure);
}
