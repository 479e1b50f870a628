package dev.sprig.node.fence;

/** The fence of one replica set: its data tokens issued at an epoch below {@code epoch} are refused. */
public record Fence(ReplicaSet set, long epoch) {

    public Fence {
        if (epoch <= 0) {
            throw new IllegalArgumentException("an epoch is positive: " + epoch);
        }
    }
}
