package dev.sprig.api.cache;

import dev.sprig.api.operation.Operation;
import dev.sprig.api.operation.OperationView;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import java.net.URI;
import java.util.Optional;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RestController;

@RestController
@Tag(name = "cache", description = "The image cache: copies of imported images, evicted least recently used first")
class CacheController {

    private final ImageCache cache;

    CacheController(ImageCache cache) {
        this.cache = cache;
    }

    @GetMapping(path = "/v1/cache", produces = MediaType.APPLICATION_JSON_VALUE)
    @io.swagger.v3.oas.annotations.Operation(
            summary = "The cache's capacity, what it holds and what it has done (shared by every instance)")
    CacheStats stats() {
        return cache.stats();
    }

    /** @param cached true when the image had a copy already; otherwise the answer is a 202 with the import */
    record Prefetched(String imageId, boolean cached) {}

    @PostMapping(path = "/v1/images/{id}:prefetch", produces = MediaType.APPLICATION_JSON_VALUE)
    @io.swagger.v3.oas.annotations.Operation(
            summary = "Warm the cache before a launch: import the image if it has no cached copy",
            description = "200 when it is cached already; otherwise 202 with the import operation (one import however"
                    + " many prefetches and clones ask for it), Location naming it.")
    @ApiResponse(
            responseCode = "200",
            description = "The image is cached",
            content = @Content(schema = @Schema(implementation = Prefetched.class)))
    @ApiResponse(
            responseCode = "202",
            description = "The import that fills the cache: an operation",
            content = @Content(schema = @Schema(implementation = OperationView.class)))
    ResponseEntity<?> prefetch(@PathVariable String id) {
        Optional<Operation> importing = cache.fill(id, 0);
        if (importing.isEmpty()) {
            return ResponseEntity.ok(new Prefetched(id, true));
        }
        return ResponseEntity.accepted()
                .location(URI.create("/v1/operations/" + importing.get().id()))
                .body(OperationView.of(importing.get()));
    }

    @PostMapping("/v1/images/{id}:evict")
    @io.swagger.v3.oas.annotations.Operation(
            summary = "Evict an imported image's copy (admin key); the image stays, its next clone imports it again",
            description = "409 HAS_DEPENDENTS while disks or snapshots read from the copy; 409 for an uploaded image,"
                    + " which is pinned. Evicting an image that is not cached does nothing.")
    @ApiResponse(responseCode = "204", description = "Evicted, or not cached")
    ResponseEntity<Void> evict(@PathVariable String id) {
        cache.evict(id);
        return ResponseEntity.noContent().build();
    }
}
