package dev.sprig.nbd.client;

import java.io.IOException;
import org.jspecify.annotations.Nullable;

/** The outcome of one request on an {@link NbdChannel}, delivered on the channel's event loop. */
public interface NbdCallback<T> {

    /** The server answered: {@code error} is its NBD error number, 0 with {@code value} on success. */
    void completed(int error, @Nullable T value);

    /** The connection broke (or never opened) before the server answered. */
    void broken(IOException failure);
}
