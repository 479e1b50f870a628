package dev.sprig.node.nbd;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.nbd.Nbd;
import dev.sprig.node.access.ReplicaEpoch;
import dev.sprig.node.fence.Fences;
import dev.sprig.node.fence.ReplicaSet;
import dev.sprig.node.metrics.DataPathMetrics;

/**
 * What a replicated data token (decision 011) lets each request of its connection do: nothing once
 * the set's fence has passed the token's epoch (EPERM, the error a client-agent answers by fetching
 * its attachment again), and nothing outside the token's stripe column (EINVAL: the request was
 * wrong, not the node). The fence is asked on every request, since it can move while a connection
 * is open; the set is built once, so a request costs one map lookup and allocates nothing.
 */
final class ReplicaScope {

    private final Fences fences;
    private final ReplicaSet set;
    private final ReplicaEpoch token;
    private final DataPathMetrics metrics;

    ReplicaScope(Fences fences, ReplicaEpoch token, DataPathMetrics metrics) {
        this.fences = fences;
        this.set = ReplicaSet.of(token);
        this.token = token;
        this.metrics = metrics;
    }

    /** 0, or the error a request for {@code length} bytes at {@code offset} is refused with. */
    int refusal(long offset, long length) {
        int fenced = fenced();
        if (fenced != 0) {
            return fenced;
        }
        return holds(token, offset, length) ? 0 : Nbd.EINVAL;
    }

    /** 0, or EPERM when the token is fenced off (for a request of no range: a flush). */
    int fenced() {
        if (fences.admits(set, token.epoch())) {
            return 0;
        }
        metrics.fenced();
        return Nbd.EPERM;
    }

    /**
     * Whether every PC of the range is in the token's column. PC {@code i} is in column {@code i %
     * columns}, so with more than one column a range of two PCs or more always reaches another
     * column: checking the first and the last PC checks every one.
     */
    static boolean holds(ReplicaEpoch token, long offset, long length) {
        long first = offset / ChunkEngine.PC_SIZE;
        long last = (offset + Math.max(length, 1) - 1) / ChunkEngine.PC_SIZE;
        return token.holdsPc(first) && (first == last || token.columns() == 1);
    }

    /**
     * The part of a block-status range a reply describes: up to the end of the first PC when other
     * columns follow it (NBD lets a server describe less than was asked, never nothing), so that a
     * client asking from a PC of its column is answered for that PC, not refused for asking past it.
     */
    long describable(long offset, long length) {
        return describable(token, offset, length);
    }

    static long describable(ReplicaEpoch token, long offset, long length) {
        if (token.columns() == 1) {
            return length;
        }
        long pcEnd = (offset / ChunkEngine.PC_SIZE + 1) * ChunkEngine.PC_SIZE;
        return Math.min(length, pcEnd - offset);
    }
}
