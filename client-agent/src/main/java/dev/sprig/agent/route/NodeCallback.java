package dev.sprig.agent.route;

import java.io.IOException;
import org.jspecify.annotations.Nullable;

/** The outcome of one request to a node, delivered on the event loop of the node channel. */
interface NodeCallback<T> {

    /** The node answered: {@code error} is its NBD error number, 0 with {@code value} on success. */
    void completed(int error, @Nullable T value);

    /** The connection broke (or never opened) before the node answered. */
    void broken(IOException failure);
}
