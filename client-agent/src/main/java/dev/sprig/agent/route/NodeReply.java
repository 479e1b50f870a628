package dev.sprig.agent.route;

import io.netty.buffer.ByteBuf;
import org.jspecify.annotations.Nullable;

/**
 * One reply, or one chunk of a structured reply, from a node. {@code payload} is a read's data
 * (from {@code offset}) or a block status's descriptors, retained for the receiver; a hole chunk has
 * no payload and {@code holeLength} bytes of zeros.
 */
record NodeReply(
        long cookie,
        boolean done,
        int error,
        long offset,
        @Nullable ByteBuf payload,
        int holeLength,
        boolean status) {}
