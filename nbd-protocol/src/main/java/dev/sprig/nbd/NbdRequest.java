package dev.sprig.nbd;

import io.netty.buffer.ByteBuf;
import org.jspecify.annotations.Nullable;

/**
 * One transmission-phase request. {@code payload} is the data of a write (retained; the handler
 * releases it). {@code refusal} is an NBD error the decoder already decided on, e.g. EOVERFLOW for
 * a write too large to accept, whose bytes it discarded.
 */
public record NbdRequest(
        int flags,
        int type,
        long cookie,
        long offset,
        long length,
        @Nullable ByteBuf payload,
        int refusal) {}
