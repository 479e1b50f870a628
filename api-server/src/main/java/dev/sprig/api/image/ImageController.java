package dev.sprig.api.image;

import dev.sprig.api.lineage.Deletions;
import dev.sprig.api.lineage.Resource;
import dev.sprig.api.lineage.ResourcePage;
import dev.sprig.api.web.Paging;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.tags.Tag;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Size;
import java.io.IOException;
import java.net.URI;
import java.time.Instant;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
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

    ImageController(ImageService images, Deletions deletions) {
        this.images = images;
        this.deletions = deletions;
    }

    record CreateImage(
            @NotBlank @Size(max = 128) String name,

            @NotNull @Parameter(description = "size in bytes; the upload must carry exactly this many")
            Long sizeBytes) {}

    /**
     * @param bytesReceived upload progress, of {@code sizeBytes}
     * @param error why the last upload failed, when {@code state} is {@code error}
     */
    record ImageView(
            String externId,
            String name,
            long sizeBytes,
            String state,
            long bytesReceived,
            @Nullable Long lcId,
            @Nullable String error,
            Instant createdAt,
            Instant updatedAt) {

        static ImageView of(Resource image) {
            return new ImageView(
                    image.externId(),
                    image.name(),
                    image.sizeBytes(),
                    image.state(),
                    image.bytesReceived(),
                    image.lcId(),
                    image.error(),
                    image.createdAt(),
                    image.updatedAt());
        }
    }

    record ImagePage(List<ImageView> items, @Nullable String nextPageToken) {
        static ImagePage of(ResourcePage page) {
            return new ImagePage(page.items().stream().map(ImageView::of).toList(), page.nextPageToken());
        }
    }

    @PostMapping("/v1/images")
    @Operation(summary = "Create an empty image (state queued); upload its content with PUT /v1/images/{id}/file")
    ResponseEntity<ImageView> create(@Valid @RequestBody CreateImage request) {
        Resource image = images.create(request.name(), request.sizeBytes());
        return ResponseEntity.created(URI.create("/v1/images/" + image.externId()))
                .body(ImageView.of(image));
    }

    @PutMapping(path = "/v1/images/{id}/file", consumes = MediaType.APPLICATION_OCTET_STREAM_VALUE)
    @Operation(
            summary = "Upload the image's raw content, streamed; exactly sizeBytes bytes",
            description = "Progress is visible as bytesReceived on GET while it runs. A short, long or cut-off"
                    + " body leaves the image in state error; upload again to replace it.")
    ImageView upload(@PathVariable String id, HttpServletRequest request) throws IOException {
        return ImageView.of(images.upload(id, request.getContentLengthLong(), request.getInputStream()));
    }

    @DeleteMapping("/v1/images/{id}")
    @Operation(summary = "Delete an image; while disks or snapshots read from it, 409 HAS_DEPENDENTS lists them")
    ResponseEntity<Void> delete(
            @PathVariable String id,
            @Parameter(description = "with dependents: hide it now, free it when the last dependent goes")
                    @RequestParam(defaultValue = "false")
                    boolean deferred) {
        deletions.delete(id, dev.sprig.api.lineage.ResourceKind.IMAGE, deferred);
        return ResponseEntity.noContent().build();
    }

    record Descendants(String externId, List<String> descendants) {}

    @GetMapping("/v1/images/{id}/descendants")
    @Operation(summary = "Every disk and snapshot that reads from the image, directly or through snapshots")
    Descendants descendants(@PathVariable String id) {
        return new Descendants(id, images.descendants(id));
    }

    @GetMapping("/v1/images/{id}")
    ImageView get(@PathVariable String id) {
        return ImageView.of(images.get(id));
    }

    @GetMapping("/v1/images")
    @Operation(summary = "List images in creation order, a page at a time")
    ImagePage list(
            @RequestParam(required = false) @Nullable String state,
            @RequestParam(required = false) @Nullable String namePrefix,
            @RequestParam(required = false) @Nullable String pageToken,
            @RequestParam(required = false) @Nullable Integer pageSize) {
        return ImagePage.of(images.list(state, namePrefix, pageToken, Paging.size(pageSize)));
    }
}
