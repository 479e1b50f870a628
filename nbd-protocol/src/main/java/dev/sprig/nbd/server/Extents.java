package dev.sprig.nbd.server;

import java.util.Arrays;

/**
 * The extents of one block-status reply: consecutive (length, flags) pairs from the request's
 * offset. Neighbours with the same flags are merged, so a disk can add them at any granularity.
 */
public final class Extents {

    /** More descriptors than any client asks to see at once; the reply stops short of the range. */
    static final int MAX_DESCRIPTORS = 1 << 16;

    private long[] lengths = new long[8];
    private int[] flags = new int[8];
    private int count;
    private long covered;

    /** Appends an extent; returns false once the reply holds as many descriptors as it may. */
    public boolean add(long length, int stateFlags) {
        if (length <= 0) {
            throw new IllegalArgumentException("extent of " + length + " bytes");
        }
        covered += length;
        if (count > 0 && flags[count - 1] == stateFlags) {
            lengths[count - 1] += length;
            return true;
        }
        if (count == MAX_DESCRIPTORS) {
            covered -= length;
            return false;
        }
        if (count == lengths.length) {
            lengths = Arrays.copyOf(lengths, count * 2);
            flags = Arrays.copyOf(flags, count * 2);
        }
        lengths[count] = length;
        flags[count] = stateFlags;
        count++;
        return true;
    }

    public int count() {
        return count;
    }

    public long length(int index) {
        return lengths[index];
    }

    public int flags(int index) {
        return flags[index];
    }

    /** The bytes the extents describe so far. */
    public long covered() {
        return covered;
    }

    /** Keeps the first {@code keep} bytes and the extents inside them. */
    public void truncate(long keep) {
        long at = 0;
        for (int i = 0; i < count; i++) {
            if (at + lengths[i] >= keep) {
                lengths[i] = keep - at;
                count = lengths[i] == 0 ? i : i + 1;
                covered = keep;
                return;
            }
            at += lengths[i];
        }
    }
}
