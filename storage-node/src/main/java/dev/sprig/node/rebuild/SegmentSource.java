package dev.sprig.node.rebuild;

import java.nio.ByteBuffer;

/** Reads an lc being rebuilt's missing bytes from its rebuild source: the port {@link LiveWrites} needs. */
@FunctionalInterface
public interface SegmentSource {

    /**
     * Reads {@code into.remaining()} bytes of the source lc from {@code offset} as a client of the
     * source reads them (through the source's parent chain: resolved, not its own segments only)
     * into {@code into}, advancing its position.
     *
     * @throws SourceUnreadableException the source did not deliver them, whole, in time
     */
    void read(RebuildSource source, long offset, ByteBuffer into);
}
