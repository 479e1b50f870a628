package dev.sprig.nbd.client;

import io.netty.buffer.ByteBuf;
import org.jspecify.annotations.Nullable;

/**
 * One reply, or one chunk of a structured reply. {@code payload} is a read's data (from {@code
 * offset}) or a block status's descriptors, retained for the receiver; a hole chunk has no payload
 * and {@code holeLength} bytes of zeros.
 */
record Reply(
        long cookie,
        boolean done,
        int error,
        long offset,
        @Nullable ByteBuf payload,
        int holeLength,
        boolean status) {}
