package dev.sprig.api.lineage;

import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.springframework.stereotype.Component;

/**
 * Implicit snapshots (frozen lcs no resource names, other than an image's extra copies) and
 * resources waiting on a deferred delete exist only for what hangs below them; once their last child is gone (deleted, or flattened away), they
 * go too, and so on up the chain.
 */
@Component
public class UnusedAncestors {

    private final ResourceRepository resources;
    private final LcRepository lcs;

    UnusedAncestors(ResourceRepository resources, LcRepository lcs) {
        this.resources = resources;
        this.lcs = lcs;
    }

    /**
     * Removes from the metadata {@code start} and its ancestors, nearest first, while nothing reads
     * them any more, and returns their ids for the caller to delete on the backend after commit (in
     * this order: children before parents). Runs in the caller's transaction. Each lc is locked before
     * its children are counted, so that two transactions removing the last two children of one lc
     * cannot both leave it behind.
     */
    public List<Long> remove(@Nullable Long start) {
        List<Long> removed = new ArrayList<>();
        Long up = start;
        while (up != null) {
            Lc lc = lcs.lock(up).orElse(null);
            if (lc == null || lcs.hasChildren(up)) {
                break;
            }
            Resource owner = resources.lockOnLc(up).orElse(null);
            if (owner != null && !owner.state().equals(ResourceRepository.DELETING)) {
                break;
            }
            if (owner == null && lcs.isCopyOfLiveImage(up)) {
                break;
            }
            if (owner != null) {
                if (owner.kind() == ResourceKind.IMAGE) {
                    lcs.keepHitsOfCopies(owner.externId());
                }
                resources.delete(owner.externId());
            }
            lcs.delete(up);
            removed.add(up);
            up = lc.parentLcId();
        }
        return removed;
    }
}
