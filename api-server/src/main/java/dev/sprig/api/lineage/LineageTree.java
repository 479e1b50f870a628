package dev.sprig.api.lineage;

import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A resource's lineage as a tree, for people to look at: from the root of its chain (an image, or
 * an image's cached copy) down through the snapshots it reads from to the resource itself, and at
 * every level a few of the other lcs that hang there (the other clones of an image, the disks
 * cloned from a snapshot), with how many more there are.
 */
public record LineageTree(Branch root) {

    /**
     * @param step the lc and the resource on it; none for an implicit snapshot or an image's copy
     * @param copyOf the image whose cached copy this lc is, when it is one
     * @param subject the resource the tree is drawn for
     * @param children the next lc of the subject's chain first (drawn further), then a few others
     * @param unshown the children not among {@code children}
     */
    public record Branch(
            LineageStep step, @Nullable String copyOf, boolean subject, List<Branch> children, long unshown) {}
}
