package dev.sprig.api.image;

import dev.sprig.api.error.SprigException;
import dev.sprig.api.lineage.Deletions;
import dev.sprig.api.lineage.Labels;
import dev.sprig.api.lineage.Relabeling;
import dev.sprig.api.lineage.Resource;
import dev.sprig.api.lineage.ResourceFilter;
import dev.sprig.api.lineage.ResourceKind;
import dev.sprig.api.lineage.ResourcePage;
import dev.sprig.api.web.Paging;
import dev.sprig.api.web.UpdateLabels;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.Size;
import java.io.IOException;
import java.net.URI;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PatchMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

@RestController
@Tag(name = "images", description = "Base images that disks are cloned from")
class ImageController {

    private final ImageService images;
    private final Deletions deletions;
    private final Relabeling relabeling;

    ImageController(ImageService images, Deletions deletions, Relabeling relabeling) {
        this.images = images;
        this.deletions = deletions;
        this.relabeling = relabeling;
    }

    /**
     * @param sizeBytes required for an upload; absent with a source (the import learns the size)
     * @param source where to import the image from, instead of an upload
     * @param format how the source holds the image: {@code raw} (the default) or {@code qcow2}
     * @param sha256 the source's SHA-256, checked by the import
     */
    record CreateImage(
            @NotBlank @Size(max = 128) String name,

            @Parameter(description = "size in bytes; the upload must carry exactly this many; absent with a source")
            @Nullable
            Long sizeBytes,

            @Valid @Nullable SourceRequest source,

            @Pattern(regexp = "raw|qcow2", message = "must be raw or qcow2") @Nullable
            String format,

            @Pattern(regexp = "[0-9a-f]{64}", message = "must be 64 lowercase hex digits") @Nullable
            String sha256,

            @Parameter(description = "at most 32; keys and values of letters, digits, '.', '_', '-' (keys also '/')")
            @Nullable
            Map<String, String> labels) {}

    /** @param url a {@code file:}, {@code http:} or {@code https:} URL with one of the configured prefixes */
    record SourceRequest(@NotBlank @Size(max = 4096) String url) {}

    /** @param sha256 given at import, checked against the source's bytes */
    record SourceView(String url, String format, @Nullable String sha256) {
        static @Nullable SourceView of(@Nullable ImageSource source) {
            return source == null
                    ? null
                    : new SourceView(source.url(), source.format().column(), source.sha256());
        }
    }

    /**
     * @param sizeBytes null while an image from a source is importing (and if that failed)
     * @param bytesReceived upload progress, of {@code sizeBytes}; an import's progress is on its operation
     * @param error why the last upload or import failed, when {@code state} is {@code error}
     * @param source where the image is imported from; null for an uploaded image
     * @param operationId the import that answered this request; null elsewhere
     * @param cached whether a copy is ready to clone from; an evicted image is available and not
     *     cached (its next clone imports it again)
     * @param pinned an uploaded image: it has no source to come back from, so its copy is never evicted
     * @param copies its copies in storage
     * @param cloneCount clones made from its copies that still exist
     * @param lastUsedAt its last clone, or its import; null with no copy
     */
    record ImageView(
            String externId,
            String name,
            @Nullable Long sizeBytes,
            String state,
            long bytesReceived,
            @Nullable Long lcId,
            @Nullable String error,
            @Nullable SourceView source,
            @Nullable String operationId,
            boolean cached,
            boolean pinned,
            int copies,
            long cloneCount,
            @Nullable Instant lastUsedAt,
            Instant createdAt,
            Instant updatedAt,
            Map<String, String> labels) {

        static ImageView of(ImageService.Image found) {
            return of(found, null);
        }

        static ImageView of(ImageService.Image found, @Nullable String operationId) {
            Resource image = found.resource();
            return new ImageView(
                    image.externId(),
                    image.name(),
                    image.sizeBytes(),
                    image.state(),
                    image.bytesReceived(),
                    image.lcId(),
                    image.error(),
                    SourceView.of(found.source()),
                    operationId,
                    !found.copies().isEmpty(),
                    found.source() == null,
                    found.copies().size(),
                    found.cloneCount(),
                    found.lastUsedAt(),
                    image.createdAt(),
                    image.updatedAt(),
                    image.labels().values());
        }
    }

    record ImagePage(List<ImageView> items, @Nullable String nextPageToken) {}

    @PostMapping(path = "/v1/images", produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(
            summary = "Create an image: empty (state queued) to upload with PUT /v1/images/{id}/file, or"
                    + " imported from a source URL",
            description = "With source.url (file:, http: or https:, within the configured allowed prefixes) the"
                    + " answer is 202 with the image importing and Location naming its operation; poll that"
                    + " until it has finished. Without a source, sizeBytes is required and the answer is 201.")
    @ApiResponse(
            responseCode = "201",
            description = "An empty image, queued for its upload",
            useReturnTypeSchema = true)
    @ApiResponse(
            responseCode = "202",
            description = "An image importing from its source; Location is its import operation",
            useReturnTypeSchema = true)
    ResponseEntity<ImageView> create(@Valid @RequestBody CreateImage request) {
        if (request.source() == null) {
            if (request.sizeBytes() == null) {
                throw SprigException.invalidArgument("sizeBytes is required for an image without a source");
            }
            if (request.format() != null || request.sha256() != null) {
                throw SprigException.invalidArgument("format and sha256 describe a source; give source.url too");
            }
            Resource image = images.create(request.name(), request.sizeBytes(), Labels.of(request.labels()));
            return ResponseEntity.created(URI.create("/v1/images/" + image.externId()))
                    .body(ImageView.of(new ImageService.Image(image, null, List.of())));
        }
        if (request.sizeBytes() != null) {
            throw SprigException.invalidArgument("sizeBytes must be absent with a source: the import learns the size");
        }
        ImageFormat format = request.format() == null ? ImageFormat.RAW : ImageFormat.ofColumn(request.format());
        ImageService.Import started = images.importFrom(
                request.name(),
                new ImageSource(request.source().url(), format, request.sha256()),
                Labels.of(request.labels()));
        String operationId = started.operation().id();
        return ResponseEntity.accepted()
                .location(URI.create("/v1/operations/" + operationId))
                .body(ImageView.of(started.image(), operationId));
    }

    @PutMapping(
            path = "/v1/images/{id}/file",
            consumes = MediaType.APPLICATION_OCTET_STREAM_VALUE,
            produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(
            summary = "Upload the image's raw content, streamed; exactly sizeBytes bytes",
            description = "Progress is visible as bytesReceived on GET while it runs. A short, long or cut-off"
                    + " body leaves the image in state error; upload again to replace it.")
    ImageView upload(@PathVariable String id, HttpServletRequest request) throws IOException {
        images.upload(id, request.getContentLengthLong(), request.getInputStream());
        return ImageView.of(images.image(id));
    }

    @DeleteMapping("/v1/images/{id}")
    @Operation(summary = "Delete an image; while disks or snapshots read from it, 409 HAS_DEPENDENTS lists them")
    @ApiResponse(responseCode = "204", description = "Deleted, or with deferred hidden until its last dependent goes")
    ResponseEntity<Void> delete(
            @PathVariable String id,
            @Parameter(description = "with dependents: hide it now, free it when the last dependent goes")
                    @RequestParam(defaultValue = "false")
                    boolean deferred) {
        deletions.delete(id, ResourceKind.IMAGE, deferred);
        return ResponseEntity.noContent().build();
    }

    record Descendants(String externId, List<String> descendants) {}

    @GetMapping(path = "/v1/images/{id}/descendants", produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(summary = "Every disk and snapshot that reads from the image, directly or through snapshots")
    Descendants descendants(@PathVariable String id) {
        return new Descendants(id, images.descendants(id));
    }

    @GetMapping(path = "/v1/images/{id}", produces = MediaType.APPLICATION_JSON_VALUE)
    ImageView get(@PathVariable String id) {
        return ImageView.of(images.image(id));
    }

    @PatchMapping(
            path = "/v1/images/{id}",
            consumes = {MediaType.APPLICATION_JSON_VALUE, "application/merge-patch+json"},
            produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(
            summary = "Change an image's labels: a key with a value sets it, a key with null removes it",
            description = "A JSON merge patch of labels; the others stay. 400 INVALID_ARGUMENT for a key or"
                    + " value out of the rules, or more than 32 labels; 404 NOT_FOUND for no such image.")
    ImageView relabel(@PathVariable String id, @Valid @RequestBody UpdateLabels request) {
        relabeling.relabel(id, ResourceKind.IMAGE, request.labels());
        return ImageView.of(images.image(id));
    }

    @GetMapping(path = "/v1/images", produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(
            summary = "List images in creation order, a page at a time",
            description = "Filters: state, namePrefix, sourceUrl (imported from that URL) and label (key=value,"
                    + " repeatable: all must match); nextPageToken asks for the next page with the same filters.")
    ImagePage list(
            @RequestParam(required = false) @Nullable String state,
            @RequestParam(required = false) @Nullable String namePrefix,
            @Parameter(description = "only images imported from this URL (exactly as registered)")
                    @RequestParam(required = false)
                    @Nullable
                    String sourceUrl,
            @Parameter(
                            description = "key=value: only images with this label; repeat it for several (all must"
                                    + " match)")
                    @RequestParam(required = false)
                    @Nullable
                    List<String> label,
            @RequestParam(required = false) @Nullable String pageToken,
            @RequestParam(required = false) @Nullable Integer pageSize) {
        ResourcePage page = images.list(
                new ResourceFilter(state, namePrefix, null, Labels.filter(label), sourceUrl),
                pageToken,
                Paging.size(pageSize));
        return new ImagePage(
                images.withSources(page.items()).stream().map(ImageView::of).toList(), page.nextPageToken());
    }
}
