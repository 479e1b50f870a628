package dev.sprig.api.operation;

import dev.sprig.api.web.Paging;
import io.swagger.v3.oas.annotations.tags.Tag;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

@RestController
@Tag(
        name = "operations",
        description = "Long-running work (flatten, image import) and its progress; poll until it has finished")
class OperationController {

    private final Operations operations;
    private final OperationRunner runner;

    OperationController(Operations operations, OperationRunner runner) {
        this.operations = operations;
        this.runner = runner;
    }

    @GetMapping(path = "/v1/operations/{id}", produces = MediaType.APPLICATION_JSON_VALUE)
    @io.swagger.v3.oas.annotations.Operation(
            summary = "An operation: its state and progress",
            description = "Poll it after a 202: state goes from running to succeeded or failed (with an error),"
                    + " and done counts up to total in the given unit.")
    OperationView getOperation(@PathVariable String id) {
        return OperationView.of(operations.get(id));
    }

    record OperationList(
            List<OperationView> items, @Nullable String nextPageToken) {}

    @GetMapping(path = "/v1/operations", produces = MediaType.APPLICATION_JSON_VALUE)
    @io.swagger.v3.oas.annotations.Operation(
            summary = "Operations, newest first, a page at a time",
            description = "At most pageSize (default 50, at most 1,000), of one kind (flatten, import, clone, copy,"
                    + " recovery, scrub), in one state (running, succeeded, failed) and on one resource (targetId:"
                    + " an image's, a disk's or a replica set's id) when those are given; nextPageToken asks for the"
                    + " next page with the same filters. How an operator finds the recoveries the leader started:"
                    + " GET /v1/operations?kind=recovery&state=running.")
    OperationList list(
            @RequestParam(required = false) @Nullable String kind,
            @RequestParam(required = false) @Nullable String state,
            @RequestParam(required = false) @Nullable String targetId,
            @RequestParam(required = false) @Nullable String pageToken,
            @RequestParam(required = false) @Nullable Integer pageSize) {
        OperationRepository.Page page = operations.page(kind, state, targetId, pageToken, Paging.size(pageSize));
        return new OperationList(page.items().stream().map(OperationView::of).toList(), page.nextPageToken());
    }

    @PostMapping(path = "/v1/operations/{id}:cancel", produces = MediaType.APPLICATION_JSON_VALUE)
    @io.swagger.v3.oas.annotations.Operation(
            summary = "Cancel a running operation",
            description = "The operation is failed at once, with errorCode CANCELLED, and is never resumed; its"
                    + " work stops at its next progress step (what it did so far stays: a cancelled flatten leaves"
                    + " the disk available, reading the same data). A bulk clone that is cancelled creates no"
                    + " disks. An operation that has already finished answers 409 INVALID_STATE.")
    OperationView cancel(@PathVariable String id) {
        return OperationView.of(runner.cancel(id));
    }
}
