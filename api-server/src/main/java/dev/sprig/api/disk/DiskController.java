package dev.sprig.api.disk;

import dev.sprig.api.lineage.Resource;
import dev.sprig.api.lineage.ResourcePage;
import dev.sprig.api.web.Paging;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.tags.Tag;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Size;
import java.net.URI;
import java.time.Instant;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

@RestController
@Tag(name = "disks", description = "Writable VM disks: redirect-on-write clones, created by metadata alone")
class DiskController {

    private final DiskService disks;

    DiskController(DiskService disks) {
        this.disks = disks;
    }

    /** @param sizeBytes the disk's size; the source's size when absent, never smaller */
    record CreateDisk(
            @NotBlank @Size(max = 128) String name,
            @NotBlank String sourceId,
            @Nullable Long sizeBytes) {}

    record DiskView(
            String externId,
            String name,
            long sizeBytes,
            String state,
            @Nullable String sourceId,
            @Nullable Long lcId,
            Instant createdAt,
            Instant updatedAt) {

        static DiskView of(Resource disk) {
            return new DiskView(
                    disk.externId(),
                    disk.name(),
                    disk.sizeBytes(),
                    disk.state(),
                    disk.sourceExternId(),
                    disk.lcId(),
                    disk.createdAt(),
                    disk.updatedAt());
        }
    }

    record DiskPage(List<DiskView> items, @Nullable String nextPageToken) {
        static DiskPage of(ResourcePage page) {
            return new DiskPage(page.items().stream().map(DiskView::of).toList(), page.nextPageToken());
        }
    }

    @PostMapping("/v1/disks")
    @Operation(summary = "Clone a disk from an available image; answered available, in milliseconds")
    ResponseEntity<DiskView> create(@Valid @RequestBody CreateDisk request) {
        Resource disk = disks.clone(request.name(), request.sourceId(), request.sizeBytes());
        return ResponseEntity.created(URI.create("/v1/disks/" + disk.externId()))
                .body(DiskView.of(disk));
    }

    @GetMapping("/v1/disks/{id}")
    DiskView get(@PathVariable String id) {
        return DiskView.of(disks.get(id));
    }

    @GetMapping("/v1/disks")
    @Operation(summary = "List disks in creation order, a page at a time")
    DiskPage list(
            @RequestParam(required = false) @Nullable String state,
            @RequestParam(required = false) @Nullable String namePrefix,
            @RequestParam(required = false) @Nullable String pageToken,
            @RequestParam(required = false) @Nullable Integer pageSize) {
        return DiskPage.of(disks.list(state, namePrefix, pageToken, Paging.size(pageSize)));
    }
}
