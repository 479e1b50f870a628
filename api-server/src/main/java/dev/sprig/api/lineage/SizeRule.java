package dev.sprig.api.lineage;

import dev.sprig.api.error.SprigException;
import dev.sprig.engine.ChunkEngine;

/**
 * The one rule for a size a client asks for (a disk, a bulk clone's disks, an uploaded image, an
 * image learned from its source): positive, a whole number of 512-byte sectors, and at most 64 TiB
 * (the storage engine's own maximum, which it enforces too).
 *
 * <p>512 bytes, not 4 KiB: qemu's images (qcow2, vmdk, …) have virtual sizes in whole sectors, not
 * necessarily whole 4 KiB blocks, and a disk is often cloned from such an image at its own size.
 * The maximum keeps every per-size figure (PC counts, offsets) far from overflowing; nothing walks a
 * disk by its declared size any more, but no request should declare an address space no one can use.
 */
public final class SizeRule {

    /** Sizes are whole sectors. */
    public static final long ALIGNMENT = 512;
    /** The largest disk or image: 64 TiB. */
    public static final long MAX_BYTES = ChunkEngine.MAX_SIZE;

    private SizeRule() {}

    /** Whether {@code sizeBytes} is a size a disk or image may have. */
    public static boolean allows(long sizeBytes) {
        return sizeBytes > 0 && sizeBytes <= MAX_BYTES && sizeBytes % ALIGNMENT == 0;
    }

    /**
     * {@code sizeBytes}, if allowed.
     *
     * @param field what the size is, as the client named it ({@code sizeBytes})
     * @throws SprigException.InvalidArgument naming the rule, for a 400
     */
    public static long require(String field, long sizeBytes) {
        if (!allows(sizeBytes)) {
            throw SprigException.invalidArgument(describe(field, sizeBytes));
        }
        return sizeBytes;
    }

    /** Why {@code sizeBytes} is refused, in the words a 400 uses. */
    public static String describe(String field, long sizeBytes) {
        return field + " is " + sizeBytes + "; it must be a multiple of " + ALIGNMENT + " between " + ALIGNMENT
                + " and " + MAX_BYTES + " (64 TiB)";
    }
}
