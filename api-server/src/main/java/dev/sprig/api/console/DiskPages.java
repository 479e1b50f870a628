package dev.sprig.api.console;

import dev.sprig.api.disk.DiskService;
import dev.sprig.api.disk.Flattening;
import dev.sprig.api.lineage.Deletions;
import dev.sprig.api.lineage.Labels;
import dev.sprig.api.lineage.LineageTrees;
import dev.sprig.api.lineage.Resource;
import dev.sprig.api.lineage.ResourceFilter;
import dev.sprig.api.lineage.ResourceKind;
import dev.sprig.api.lineage.ResourcePage;
import dev.sprig.api.operation.Operation;
import dev.sprig.api.operation.Operations;
import org.jspecify.annotations.Nullable;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.servlet.mvc.support.RedirectAttributes;

/** Disks and snapshots: lists, a page each with its lineage tree, and snapshot, clone, flatten and delete. */
@Controller
class DiskPages {

    /** Other children drawn at each level of a lineage tree. */
    static final int TREE_OTHERS = 8;

    /** Snapshots listed on a disk's page. */
    static final int SNAPSHOTS_SHOWN = 20;

    private final DiskService disks;
    private final Flattening flattening;
    private final Deletions deletions;
    private final LineageTrees trees;
    private final Operations operations;
    private final Actions actions;

    DiskPages(
            DiskService disks,
            Flattening flattening,
            Deletions deletions,
            LineageTrees trees,
            Operations operations,
            Actions actions) {
        this.disks = disks;
        this.flattening = flattening;
        this.deletions = deletions;
        this.trees = trees;
        this.operations = operations;
        this.actions = actions;
    }

    @GetMapping("/console/disks")
    String list(
            @RequestParam(required = false) @Nullable String namePrefix,
            @RequestParam(required = false) @Nullable String sourceId,
            @RequestParam(required = false) @Nullable String state,
            @RequestParam(required = false) @Nullable String pageToken,
            Model model) {
        ResourcePage page = disks.list(
                new ResourceFilter(
                        Listing.given(state), Listing.given(namePrefix), Listing.given(sourceId), Labels.NONE),
                Listing.given(pageToken),
                Listing.PAGE_SIZE);
        model.addAttribute("disks", page.items());
        model.addAttribute("nextPageToken", page.nextPageToken());
        model.addAttribute("namePrefix", Listing.given(namePrefix));
        model.addAttribute("sourceId", Listing.given(sourceId));
        model.addAttribute("state", Listing.given(state));
        return "console/disks";
    }

    @GetMapping("/console/disks/{id}")
    String disk(@PathVariable String id, Model model) {
        Resource disk = disks.get(id, ResourceKind.DISK);
        model.addAttribute("disk", disk);
        model.addAttribute("tree", disk.lcId() == null ? null : trees.of(id, ResourceKind.DISK, TREE_OTHERS));
        ResourcePage snapshots =
                disks.snapshots(id, new ResourceFilter(null, null, id, Labels.NONE), null, SNAPSHOTS_SHOWN);
        model.addAttribute("snapshots", snapshots.items());
        model.addAttribute("running", operations.runningOn(id).orElse(null));
        return "console/disk";
    }

    @GetMapping("/console/snapshots/{id}")
    String snapshotPage(@PathVariable String id, Model model) {
        Resource snapshot = disks.get(id, ResourceKind.SNAPSHOT);
        model.addAttribute("snapshot", snapshot);
        model.addAttribute("tree", snapshot.lcId() == null ? null : trees.of(id, ResourceKind.SNAPSHOT, TREE_OTHERS));
        return "console/snapshot";
    }

    @PostMapping("/console/disks/{id}/snapshot")
    String takeSnapshot(@PathVariable String id, @RequestParam String name, RedirectAttributes flash) {
        return actions.run(flash, Actions.path("/console/disks/{id}", id), () -> {
            Resource snapshot = disks.snapshot(id, name.strip(), Labels.NONE);
            return new Actions.Outcome(
                    Actions.path("/console/disks/{id}", id), "Snapshot " + snapshot.name() + " taken.");
        });
    }

    /** A clone of an image, a snapshot or a disk: the form sits on each one's page. */
    @PostMapping({"/console/images/{id}/clone", "/console/snapshots/{id}/clone", "/console/disks/{id}/clone"})
    String clone(@PathVariable String id, @RequestParam String name, RedirectAttributes flash) {
        String back = Actions.path(
                switch (ResourceKind.ofExternId(id)) {
                    case IMAGE -> "/console/images/{id}";
                    case SNAPSHOT -> "/console/snapshots/{id}";
                    case DISK -> "/console/disks/{id}";
                },
                id);
        return actions.run(flash, back, () -> {
            Resource disk = disks.clone(name.strip(), id, null, Labels.NONE);
            return new Actions.Outcome(
                    Actions.path("/console/disks/{id}", disk.externId()), "Disk " + disk.name() + " cloned.");
        });
    }

    @PostMapping("/console/disks/{id}/flatten")
    String flatten(@PathVariable String id, RedirectAttributes flash) {
        return actions.run(flash, Actions.path("/console/disks/{id}", id), () -> {
            Operation operation = flattening.flatten(id);
            return new Actions.Outcome(
                    Actions.path("/console/operations/{id}", operation.id()), "Flattening disk " + id + ".");
        });
    }

    @PostMapping("/console/disks/{id}/delete")
    String delete(@PathVariable String id, RedirectAttributes flash) {
        return actions.run(flash, Actions.path("/console/disks/{id}", id), () -> {
            deletions.delete(id, ResourceKind.DISK, false);
            return new Actions.Outcome("/console/disks", "Disk " + id + " deleted.");
        });
    }

    @PostMapping("/console/snapshots/{id}/delete")
    String deleteSnapshot(@PathVariable String id, RedirectAttributes flash) {
        return actions.run(flash, Actions.path("/console/snapshots/{id}", id), () -> {
            deletions.delete(id, ResourceKind.SNAPSHOT, false);
            return new Actions.Outcome("/console/disks", "Snapshot " + id + " deleted.");
        });
    }
}
