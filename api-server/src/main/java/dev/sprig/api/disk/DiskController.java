package dev.sprig.api.disk;

import dev.sprig.api.lineage.Deletions;
import dev.sprig.api.lineage.Labels;
import dev.sprig.api.lineage.Relabeling;
import dev.sprig.api.lineage.Resource;
import dev.sprig.api.lineage.ResourceFilter;
import dev.sprig.api.lineage.ResourceKind;
import dev.sprig.api.lineage.ResourcePage;
import dev.sprig.api.operation.OperationView;
import dev.sprig.api.web.Paging;
import dev.sprig.api.web.UpdateLabels;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Positive;
import jakarta.validation.constraints.Size;
import java.net.URI;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PatchMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

@RestController
@Tag(name = "disks", description = "Writable VM disks: redirect-on-write clones, created by metadata alone")
class DiskController {

    private final DiskService disks;
    private final Flattening flattening;
    private final Deletions deletions;
    private final DiskReplication replication;
    private final Reverts reverts;
    private final Relabeling relabeling;

    DiskController(
            DiskService disks,
            Flattening flattening,
            Deletions deletions,
            DiskReplication replication,
            Reverts reverts,
            Relabeling relabeling) {
        this.reverts = reverts;
        this.relabeling = relabeling;
        this.disks = disks;
        this.flattening = flattening;
        this.deletions = deletions;
        this.replication = replication;
    }

    /** @param sizeBytes each disk's size: the source's when absent, never smaller; a multiple of 512, at most 64 TiB */
    record BatchCreate(
            @NotBlank String sourceId,
            @NotNull @Positive @Max(DiskService.MAX_BATCH) Integer count,
            @NotBlank @Size(max = 100) String namePrefix,
            @Nullable Long sizeBytes,

            @Parameter(
                    description =
                            "every disk's; at most 32; keys and values of letters, digits, '.', '_', '-' (keys also '/')")
            @Nullable
            Map<String, String> labels) {}

    record BatchCreated(List<DiskView> disks) {}

    record CreateSnapshot(
            @NotBlank @Size(max = 128) String name,

            @Parameter(description = "at most 32; keys and values of letters, digits, '.', '_', '-' (keys also '/')")
            @Nullable
            Map<String, String> labels) {}

    record ResizeDisk(@NotNull @Positive Long sizeBytes) {}

    record RevertDisk(@NotBlank @Size(max = 200) String snapshotId) {}

    record SnapshotPage(List<SnapshotView> items, @Nullable String nextPageToken) {}

    record SnapshotView(
            String externId,
            String name,
            long sizeBytes,
            String state,
            @Nullable String diskId,
            @Nullable Long lcId,
            Instant createdAt,
            Map<String, String> labels) {
        static SnapshotView of(Resource snapshot) {
            return new SnapshotView(
                    snapshot.externId(),
                    snapshot.name(),
                    snapshot.sizeBytes(),
                    snapshot.state(),
                    snapshot.sourceExternId(),
                    snapshot.lcId(),
                    snapshot.createdAt(),
                    snapshot.labels().values());
        }
    }

    /**
     * @param externId the resource on this lc; null for an implicit snapshot (a disk cloned as a source)
     */
    record LineageEntry(
            long lcId,
            boolean frozen,
            long sizeBytes,
            @Nullable String externId,
            @Nullable String kind,
            @Nullable String name) {}

    record Lineage(String externId, List<LineageEntry> chain) {}

    /** @param sizeBytes the disk's size: the source's when absent, never smaller; a multiple of 512, at most 64 TiB */
    record CreateDisk(
            @NotBlank @Size(max = 128) String name,
            @NotBlank String sourceId,
            @Nullable Long sizeBytes,

            @Parameter(description = "at most 32; keys and values of letters, digits, '.', '_', '-' (keys also '/')")
            @Nullable
            Map<String, String> labels) {}

    /** Where a disk on the nodes backend keeps its copies; members have no URIs here (the attachment's have). */
    record DiskReplicas(String redundancy, List<AttachmentController.ReplicaColumnView> columns) {

        static DiskReplicas of(DiskReplication.Replicas replicas) {
            return new DiskReplicas(
                    replicas.redundancy().parameter(),
                    replicas.columns().stream()
                            .map(AttachmentController.ReplicaColumnView::of)
                            .toList());
        }
    }

    /** @param replicas where its copies are, on the nodes backend; null on the embedded one */
    record DiskView(
            String externId,
            String name,
            long sizeBytes,
            String state,
            @Nullable String sourceId,
            @Nullable Long lcId,
            Instant createdAt,
            Instant updatedAt,
            @Nullable DiskReplicas replicas,
            Map<String, String> labels) {

        static DiskView of(Resource disk, DiskReplication.@Nullable Replicas replicas) {
            return new DiskView(
                    disk.externId(),
                    disk.name(),
                    disk.sizeBytes(),
                    disk.state(),
                    disk.sourceExternId(),
                    disk.lcId(),
                    disk.createdAt(),
                    disk.updatedAt(),
                    replicas == null ? null : DiskReplicas.of(replicas),
                    disk.labels().values());
        }
    }

    record DiskPage(List<DiskView> items, @Nullable String nextPageToken) {}

    /** The disks' views, their replica sets read for all of them at once. */
    private List<DiskView> views(List<Resource> list) {
        Map<String, DiskReplication.Replicas> replicas = replication.of(list);
        return list.stream()
                .map(disk -> DiskView.of(disk, replicas.get(disk.externId())))
                .toList();
    }

    private DiskView view(Resource disk) {
        return DiskView.of(disk, replication.of(disk));
    }

    @PostMapping(path = "/v1/disks", produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(summary = "Clone a disk from an available image; answered available, in milliseconds")
    @ApiResponse(
            responseCode = "201",
            description = "The disk, available; Location names it",
            useReturnTypeSchema = true)
    ResponseEntity<DiskView> create(@Valid @RequestBody CreateDisk request) {
        Resource disk =
                disks.clone(request.name(), request.sourceId(), request.sizeBytes(), Labels.of(request.labels()));
        return ResponseEntity.created(URI.create("/v1/disks/" + disk.externId()))
                .body(view(disk));
    }

    @PostMapping(path = "/v1/disks:batchCreate", produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(
            summary = "Clone up to 5,000 disks at once",
            description = "Named <namePrefix>-0001 …; one transaction for the metadata and one push to storage: all"
                    + " are created or none. From a cached image or a snapshot, answered synchronously with the"
                    + " created disks (2,500 take well under 2 s).")
    @ApiResponse(
            responseCode = "201",
            description = "The disks, all created",
            content = @Content(schema = @Schema(implementation = BatchCreated.class)))
    @ApiResponse(
            responseCode = "202",
            content = @Content(schema = @Schema(implementation = OperationView.class)),
            description = "The image is not cached: an operation (kind clone) that imports it and then creates the"
                    + " disks; Location names it. List them by namePrefix once it has succeeded.")
    ResponseEntity<?> batchCreate(@Valid @RequestBody BatchCreate request) {
        DiskService.BatchClone batch = disks.cloneBatch(
                request.namePrefix(),
                request.count(),
                request.sourceId(),
                request.sizeBytes(),
                Labels.of(request.labels()));
        if (batch instanceof DiskService.BatchClone.Waiting waiting) {
            return ResponseEntity.accepted()
                    .location(URI.create("/v1/operations/" + waiting.operation().id()))
                    .body(OperationView.of(waiting.operation()));
        }
        List<Resource> created = ((DiskService.BatchClone.Created) batch).disks();
        return ResponseEntity.status(201).body(new BatchCreated(views(created)));
    }

    @PostMapping(path = "/v1/disks/{id}/snapshots", produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(
            summary = "Snapshot a disk: its current lc is frozen for the snapshot, the disk continues on a new child")
    @ApiResponse(responseCode = "201", description = "The snapshot; Location names it", useReturnTypeSchema = true)
    ResponseEntity<SnapshotView> snapshot(@PathVariable String id, @Valid @RequestBody CreateSnapshot request) {
        Resource snapshot = disks.snapshot(id, request.name(), Labels.of(request.labels()));
        return ResponseEntity.created(URI.create("/v1/snapshots/" + snapshot.externId()))
                .body(SnapshotView.of(snapshot));
    }

    @GetMapping(path = "/v1/snapshots/{id}", produces = MediaType.APPLICATION_JSON_VALUE)
    SnapshotView snapshot(@PathVariable String id) {
        return SnapshotView.of(disks.get(id, ResourceKind.SNAPSHOT));
    }

    @PostMapping(path = "/v1/disks/{id}:flatten", produces = MediaType.APPLICATION_JSON_VALUE)
    @ResponseStatus(HttpStatus.ACCEPTED) // what the contract documents; the ResponseEntity says the same
    @Operation(
            summary = "Flatten a disk: copy what it still reads from its image and snapshots into its own lc",
            description = "Answered 202 with an operation to poll at its Location; the disk is flattening meanwhile"
                    + " and keeps serving I/O, but snapshots, clones of it and its deletion are refused (409"
                    + " INVALID_STATE naming the operation). Flattening a disk that is being flattened answers the"
                    + " running operation. Afterwards the disk has no parent: its lineage is its own lc, and an"
                    + " image or snapshot it read from no longer counts it as a dependent.")
    ResponseEntity<OperationView> flatten(@PathVariable String id) {
        OperationView operation = OperationView.of(flattening.flatten(id));
        return ResponseEntity.accepted()
                .location(URI.create("/v1/operations/" + operation.id()))
                .body(operation);
    }

    @PostMapping(path = "/v1/disks/{id}:resize", produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(
            summary = "Grow a disk to sizeBytes (whole 512-byte sectors); the new bytes read as zeros",
            description = "A metadata change on every copy, while the disk may be attached: a client keeps the size"
                    + " it negotiated, and one that connects again sees the new size. Its snapshots and the disks"
                    + " cloned from it keep theirs. A smaller size is refused (400 INVALID_ARGUMENT: a disk does not"
                    + " shrink); its own size changes nothing. While the disk is flattening, or (storage nodes) while"
                    + " one of its copies is not in sync, 409 INVALID_STATE says why.")
    @ApiResponse(responseCode = "200", description = "The disk at its new size", useReturnTypeSchema = true)
    DiskView resize(@PathVariable String id, @Valid @RequestBody ResizeDisk request) {
        return view(disks.resize(id, request.sizeBytes()));
    }

    @PostMapping(path = "/v1/disks/{id}:revert", produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(
            summary = "Make a disk read as one of its snapshots again; what was written since is gone",
            description = "A metadata change: the disk gets a new writable lc under the snapshot's, and its old"
                    + " lc is deleted. The snapshot, the disk's other snapshots and the disks cloned from them are"
                    + " untouched; the disk keeps its size (bytes past the snapshot's size read as zeros). Refused"
                    + " with 409 INVALID_STATE while anyone holds the disk for writing (a read-write attachment"
                    + " whose holder has not detached and whose expiresAt has not passed: the answer names the"
                    + " holder), when the snapshot is not in the disk's lineage (of a disk it was not cloned from, or from before a"
                    + " flatten), and while the disk or the snapshot is not available. 404 NOT_FOUND: no such disk"
                    + " or snapshot.")
    @ApiResponse(responseCode = "200", description = "The disk, reverted", useReturnTypeSchema = true)
    DiskView revert(@PathVariable String id, @Valid @RequestBody RevertDisk request) {
        return view(reverts.revert(id, request.snapshotId()));
    }

    @GetMapping(path = "/v1/disks/{id}/lineage", produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(summary = "The chain from the disk's lc to its root: the disk, its snapshots, the image")
    Lineage lineage(@PathVariable String id) {
        return new Lineage(
                id,
                disks.lineage(id).stream()
                        .map(step -> new LineageEntry(
                                step.lcId(),
                                step.frozen(),
                                step.sizeBytes(),
                                step.externId(),
                                step.kind() == null ? null : step.kind().name().toLowerCase(java.util.Locale.ROOT),
                                step.name()))
                        .toList());
    }

    @DeleteMapping("/v1/disks/{id}")
    @Operation(summary = "Delete a disk; deleting one that is gone is 204")
    @ApiResponse(responseCode = "204", description = "Deleted, or gone already")
    ResponseEntity<Void> delete(@PathVariable String id) {
        deletions.delete(id, ResourceKind.DISK, false);
        return ResponseEntity.noContent().build();
    }

    @DeleteMapping("/v1/snapshots/{id}")
    @Operation(summary = "Delete a snapshot; while clones read from it, 409 HAS_DEPENDENTS lists them")
    @ApiResponse(responseCode = "204", description = "Deleted, or with deferred hidden until its last dependent goes")
    ResponseEntity<Void> deleteSnapshot(
            @PathVariable String id,
            @io.swagger.v3.oas.annotations.Parameter(
                            description = "with dependents: hide it now, free it when the last dependent goes")
                    @RequestParam(defaultValue = "false")
                    boolean deferred) {
        deletions.delete(id, ResourceKind.SNAPSHOT, deferred);
        return ResponseEntity.noContent().build();
    }

    @GetMapping(path = "/v1/disks/{id}", produces = MediaType.APPLICATION_JSON_VALUE)
    DiskView get(@PathVariable String id) {
        return view(disks.get(id));
    }

    @GetMapping(path = "/v1/disks", produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(
            summary = "List disks in creation order, a page at a time",
            description = "Filters: state, namePrefix, sourceId (the disks cloned from that image, snapshot or"
                    + " disk) and label (key=value, repeatable: all must match); nextPageToken asks for the next"
                    + " page with the same filters.")
    DiskPage list(
            @RequestParam(required = false) @Nullable String state,
            @RequestParam(required = false) @Nullable String namePrefix,
            @RequestParam(required = false) @Nullable String sourceId,
            @Parameter(description = "key=value: only those with this label; repeat it for several (all must match)")
                    @RequestParam(required = false)
                    @Nullable
                    List<String> label,
            @RequestParam(required = false) @Nullable String pageToken,
            @RequestParam(required = false) @Nullable Integer pageSize) {
        ResourcePage page = disks.list(
                new ResourceFilter(state, namePrefix, sourceId, Labels.filter(label)),
                pageToken,
                Paging.size(pageSize));
        return new DiskPage(views(page.items()), page.nextPageToken());
    }

    @GetMapping(path = "/v1/snapshots", produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(
            summary = "List snapshots in creation order, a page at a time",
            description = "Filters: diskId (the snapshots taken of that disk; 404 when it does not exist), state,"
                    + " namePrefix and label (key=value, repeatable: all must match); nextPageToken asks for the"
                    + " next page with the same filters.")
    SnapshotPage snapshots(
            @RequestParam(required = false) @Nullable String diskId,
            @RequestParam(required = false) @Nullable String state,
            @RequestParam(required = false) @Nullable String namePrefix,
            @Parameter(description = "key=value: only those with this label; repeat it for several (all must match)")
                    @RequestParam(required = false)
                    @Nullable
                    List<String> label,
            @RequestParam(required = false) @Nullable String pageToken,
            @RequestParam(required = false) @Nullable Integer pageSize) {
        ResourcePage page = disks.snapshots(
                diskId,
                new ResourceFilter(state, namePrefix, diskId, Labels.filter(label)),
                pageToken,
                Paging.size(pageSize));
        return new SnapshotPage(page.items().stream().map(SnapshotView::of).toList(), page.nextPageToken());
    }

    @GetMapping(path = "/v1/disks/{id}/snapshots", produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(summary = "The snapshots taken of a disk, in creation order, a page at a time")
    SnapshotPage snapshotsOf(
            @PathVariable String id,
            @RequestParam(required = false) @Nullable String state,
            @RequestParam(required = false) @Nullable String namePrefix,
            @Parameter(description = "key=value: only those with this label; repeat it for several (all must match)")
                    @RequestParam(required = false)
                    @Nullable
                    List<String> label,
            @RequestParam(required = false) @Nullable String pageToken,
            @RequestParam(required = false) @Nullable Integer pageSize) {
        return snapshots(id, state, namePrefix, label, pageToken, pageSize);
    }

    @PatchMapping(
            path = "/v1/disks/{id}",
            consumes = {MediaType.APPLICATION_JSON_VALUE, "application/merge-patch+json"},
            produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(
            summary = "Change a disk's labels: a key with a value sets it, a key with null removes it",
            description = "A JSON merge patch of labels; the others stay. 400 INVALID_ARGUMENT for a key or"
                    + " value out of the rules, or more than 32 labels; 404 NOT_FOUND for no such disk.")
    DiskView relabel(@PathVariable String id, @Valid @RequestBody UpdateLabels request) {
        return view(relabeling.relabel(id, ResourceKind.DISK, request.labels()));
    }

    @PatchMapping(
            path = "/v1/snapshots/{id}",
            consumes = {MediaType.APPLICATION_JSON_VALUE, "application/merge-patch+json"},
            produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(
            summary = "Change a snapshot's labels: a key with a value sets it, a key with null removes it",
            description = "A JSON merge patch of labels; the others stay. 400 INVALID_ARGUMENT for a key or"
                    + " value out of the rules, or more than 32 labels; 404 NOT_FOUND for no such snapshot.")
    SnapshotView relabelSnapshot(@PathVariable String id, @Valid @RequestBody UpdateLabels request) {
        return SnapshotView.of(relabeling.relabel(id, ResourceKind.SNAPSHOT, request.labels()));
    }
}
