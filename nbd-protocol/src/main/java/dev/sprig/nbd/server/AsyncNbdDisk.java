package dev.sprig.nbd.server;

import dev.sprig.nbd.NbdRequest;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;

/**
 * A disk that never blocks: each request that passed the server's checks (inside the disk, within
 * size limits, not a write to a read-only disk, not of zero bytes) is handed over on the connection's event loop and
 * answered through {@link Answer}, exactly once, preferably on that same loop. A proxy forwarding
 * to other servers is one: it saves two thread hand-offs per request over a blocking disk.
 */
public non-sealed interface AsyncNbdDisk extends NbdExport {

    /**
     * Serves {@code request}, taking ownership of its payload (a write's data: release it once
     * sent). {@code loop} is the event loop of the client's connection.
     */
    void serve(NbdRequest request, EventLoop loop, Answer answer);

    /** How a request is answered: one of these, once. */
    interface Answer {

        /** Success without data. */
        void ok();

        /** A read's bytes, exactly as many as asked for; ownership passes to the server. */
        void data(ByteBuf bytes);

        /** A block-status request's base:allocation extents. */
        void extents(Extents extents);

        /** An NBD error number (not 0). */
        void error(int error, String message);
    }
}
