package dev.sprig.api.lineage;

import dev.sprig.api.error.SprigException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.springframework.stereotype.Service;

/**
 * Draws {@link LineageTree}s. Each level costs an indexed read of its first children, in order
 * however many there are, and an index-only count of all of them (a few ms for 100,000 clones of
 * one image); a chain of many snapshots costs as many levels.
 */
@Service
public class LineageTrees {

    private final ResourceRepository resources;
    private final LcRepository lcs;

    LineageTrees(ResourceRepository resources, LcRepository lcs) {
        this.resources = resources;
        this.lcs = lcs;
    }

    /**
     * The tree of a live resource with an lc, showing up to {@code others} children besides the
     * chain's at each level.
     */
    public LineageTree of(String externId, ResourceKind kind, int others) {
        Resource resource = resources
                .find(externId, kind)
                .orElseThrow(() -> SprigException.notFound(kind.name().toLowerCase(Locale.ROOT) + " " + externId));
        if (resource.lcId() == null) {
            throw SprigException.invalidState(
                    kind.name().toLowerCase(Locale.ROOT) + " " + externId + " has no content yet, so no lineage");
        }
        List<LineageStep> chain = resources.lineage(resource.lcId()); // nearest first
        LineageTree.Branch below = null;
        for (int i = 0; i < chain.size(); i++) {
            LineageStep step = chain.get(i);
            boolean subject = i == 0;
            List<LineageTree.Branch> children = new ArrayList<>();
            long onPath = -1;
            if (below != null) {
                children.add(below);
                onPath = below.step().lcId();
            }
            for (LineageStep child : resources.children(step.lcId(), onPath, others)) {
                children.add(new LineageTree.Branch(child, null, false, List.of(), 0));
            }
            long unshown = lcs.countChildren(step.lcId()) - children.size();
            boolean root = i == chain.size() - 1;
            String copyOf =
                    root && step.externId() == null ? lcs.copyOf(step.lcId()).orElse(null) : null;
            below = new LineageTree.Branch(step, copyOf, subject, List.copyOf(children), Math.max(0, unshown));
        }
        return new LineageTree(java.util.Objects.requireNonNull(below));
    }
}
