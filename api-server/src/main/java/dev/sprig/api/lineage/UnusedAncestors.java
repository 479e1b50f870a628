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
     *
     * <p>The resource on an lc is locked only when it is to go. A live one (an image being cloned) is
     * read unlocked: a clone holds that row shared while it adds a child under the lc, the other
     * order, so locking it here would deadlock with the clone. Nor can it turn deleting unseen: a
     * delete locks the resource's lcs before it counts their children, so it waits for this
     * transaction, then finds the child gone and removes the lc itself.
     */
    public List<Long> remove(@Nullable Long start) {
        List<Long> removed = new ArrayList<>();
        Long up = start;
        while (up != null) {
            Lc lc = lcs.lock(up).orElse(null);
            if (lc == null || lcs.hasChildren(up)) {
                break;
            }
            Resource owner = resources.onLc(up).orElse(null);
            if (owner != null && !owner.state().equals(ResourceRepository.DELETING)) {
                break;
            }
            if (owner != null) {
                owner = resources.lockOnLc(up).orElse(null);
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
