package dev.sprig.node.fence;

import dev.sprig.node.access.ReplicaEpoch;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The fences of the replica sets this node is a member of, kept in memory for the data path (one
 * map lookup per request, nothing allocated) and in {@link FenceFile} in the data directory. A fence
 * only goes up; every message about it can be repeated or reordered safely (decision 011).
 */
public final class Fences {

    private final Path dir;
    private final ConcurrentHashMap<ReplicaSet, Long> epochs;

    private Fences(Path dir, Map<ReplicaSet, Long> loaded) {
        this.dir = dir;
        this.epochs = new ConcurrentHashMap<>(loaded);
    }

    /**
     * The fences kept in {@code dataDir}, none for a fresh directory.
     *
     * @throws DamagedFencesException the file is there but cannot be read back whole
     */
    public static Fences open(Path dataDir) {
        return new Fences(dataDir, FenceFile.read(dataDir));
    }

    /**
     * Raises the fence of {@code set} to {@code epoch}, durably before it returns; an epoch at or
     * below the fence changes nothing. Raises are serialised, so the file always holds every raise
     * that returned.
     *
     * @return the fence after the call, which is {@code epoch} or a higher one raised before
     * @throws FencesNotDurableException the file could not be written; the fence holds until a restart
     */
    public synchronized Fence raise(ReplicaSet set, long epoch) {
        Fence asked = new Fence(set, epoch);
        Long current = epochs.get(set);
        if (current != null && current >= epoch) {
            return new Fence(set, current);
        }
        // in memory first: refusing the older epochs at once is never wrong once they are fenced off
        epochs.put(set, epoch);
        try {
            FenceFile.write(dir, all());
        } catch (IOException failed) {
            throw new FencesNotDurableException(dir.resolve(FenceFile.NAME), failed);
        }
        return asked;
    }

    /** Whether a token of {@code token}'s set and epoch is served: its epoch is at or past the fence. */
    public boolean admits(ReplicaEpoch token) {
        return admits(ReplicaSet.of(token), token.epoch());
    }

    /** {@link #admits(ReplicaEpoch)} for the data path, with the set built once per connection. */
    public boolean admits(ReplicaSet set, long epoch) {
        Long fence = epochs.get(set);
        return fence == null || epoch >= fence;
    }

    /** Every fence, by family and column. */
    public List<Fence> all() {
        return epochs.entrySet().stream()
                .map(entry -> new Fence(entry.getKey(), entry.getValue()))
                .sorted(Comparator.comparingLong((Fence fence) -> fence.set().familyId())
                        .thenComparingInt(fence -> fence.set().column()))
                .toList();
    }
}
