package dev.sprig.api.console;

import dev.sprig.api.cache.ImageCache;
import dev.sprig.api.disk.DiskService;
import dev.sprig.api.image.ImageService;
import dev.sprig.api.lineage.Deletions;
import dev.sprig.api.lineage.Labels;
import dev.sprig.api.lineage.Resource;
import dev.sprig.api.lineage.ResourceFilter;
import dev.sprig.api.lineage.ResourceKind;
import dev.sprig.api.lineage.ResourcePage;
import dev.sprig.api.operation.Operation;
import java.util.Optional;
import org.jspecify.annotations.Nullable;
import org.springframework.security.core.Authentication;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.servlet.mvc.support.RedirectAttributes;
import org.springframework.web.util.UriComponentsBuilder;

/** Images with their cache state, copies and clones; cloning, prefetching, evicting and deleting them. */
@Controller
class ImagePages {

    /** An image as its row and page show it: the cache's view summed over its copies. */
    record ImageRow(Resource image, String cache, int copies, long clones, java.time.@Nullable Instant lastUsedAt) {

        static ImageRow of(ImageService.Image found) {
            return new ImageRow(
                    found.resource(),
                    found.copies().isEmpty() ? "not cached" : found.source() == null ? "pinned" : "cached",
                    found.copies().size(),
                    found.cloneCount(),
                    found.lastUsedAt());
        }
    }

    /** Clones listed on an image's page; the rest are a link away. */
    static final int CLONES_SHOWN = 20;

    private final ImageService images;
    private final DiskService disks;
    private final ImageCache cache;
    private final Deletions deletions;
    private final Actions actions;

    ImagePages(ImageService images, DiskService disks, ImageCache cache, Deletions deletions, Actions actions) {
        this.images = images;
        this.disks = disks;
        this.cache = cache;
        this.deletions = deletions;
        this.actions = actions;
    }

    @GetMapping("/console/images")
    String list(
            @RequestParam(required = false) @Nullable String namePrefix,
            @RequestParam(required = false) @Nullable String state,
            @RequestParam(required = false) @Nullable String pageToken,
            Model model) {
        ResourcePage page = images.list(
                new ResourceFilter(Listing.given(state), Listing.given(namePrefix), null, Labels.NONE),
                Listing.given(pageToken),
                Listing.PAGE_SIZE);
        model.addAttribute(
                "images",
                images.withSources(page.items()).stream().map(ImageRow::of).toList());
        model.addAttribute("nextPageToken", page.nextPageToken());
        model.addAttribute("namePrefix", Listing.given(namePrefix));
        model.addAttribute("state", Listing.given(state));
        return "console/images";
    }

    @GetMapping("/console/images/{id}")
    String image(@PathVariable String id, Model model) {
        ImageService.Image image = images.image(id);
        model.addAttribute("image", ImageRow.of(image));
        model.addAttribute("source", image.source());
        model.addAttribute("copies", image.copies());
        ResourcePage clones = disks.list(new ResourceFilter(null, null, id, Labels.NONE), null, CLONES_SHOWN);
        model.addAttribute("clones", clones.items());
        model.addAttribute("moreClones", clones.nextPageToken() != null);
        return "console/image";
    }

    @PostMapping("/console/images/{id}/clone-batch")
    String cloneBatch(
            @PathVariable String id,
            @RequestParam String namePrefix,
            @RequestParam int count,
            RedirectAttributes flash) {
        return actions.run(flash, Actions.path("/console/images/{id}", id), () -> {
            DiskService.BatchClone batch = disks.cloneBatch(namePrefix.strip(), count, id, null, Labels.NONE);
            if (batch instanceof DiskService.BatchClone.Waiting waiting) {
                return new Actions.Outcome(
                        Actions.path(
                                "/console/operations/{id}", waiting.operation().id()),
                        "The image is not cached: it is imported first, then the disks are cloned.");
            }
            int created = ((DiskService.BatchClone.Created) batch).disks().size();
            return new Actions.Outcome(
                    UriComponentsBuilder.fromPath("/console/disks")
                            .queryParam("namePrefix", "{prefix}")
                            .buildAndExpand(namePrefix.strip())
                            .encode()
                            .toUriString(),
                    created + " disks cloned.");
        });
    }

    @PostMapping("/console/images/{id}/prefetch")
    String prefetch(@PathVariable String id, RedirectAttributes flash) {
        return actions.run(flash, Actions.path("/console/images/{id}", id), () -> {
            Optional<Operation> importing = cache.fill(id, 0);
            return importing
                    .map(running -> new Actions.Outcome(
                            Actions.path("/console/operations/{id}", running.id()),
                            "Importing the image into the cache."))
                    .orElseGet(() -> new Actions.Outcome(
                            Actions.path("/console/images/{id}", id), "The image is cached already."));
        });
    }

    @PostMapping("/console/images/{id}/evict")
    String evict(@PathVariable String id, Authentication who, RedirectAttributes flash) {
        return actions.asAdmin(who, flash, Actions.path("/console/images/{id}", id), () -> {
            cache.evict(id);
            return new Actions.Outcome(Actions.path("/console/images/{id}", id), "Evicted from the cache.");
        });
    }

    @PostMapping("/console/images/{id}/delete")
    String delete(@PathVariable String id, RedirectAttributes flash) {
        return actions.run(flash, Actions.path("/console/images/{id}", id), () -> {
            deletions.delete(id, ResourceKind.IMAGE, false);
            return new Actions.Outcome("/console/images", "Image " + id + " deleted.");
        });
    }
}
