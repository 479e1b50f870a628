package dev.sprig.api.placement;

import java.util.List;

/**
 * Published in the transaction that dropped a member: the sets whose epochs went up, as they are
 * now. Their remaining members' fences are raised once that transaction commits (never before: a
 * rolled-back drop must not fence the epoch that is still current).
 */
public record EpochsRaised(List<ReplicaSet> sets) {

    public EpochsRaised {
        sets = List.copyOf(sets);
    }
}
