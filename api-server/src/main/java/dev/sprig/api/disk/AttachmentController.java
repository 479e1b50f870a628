package dev.sprig.api.disk;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Positive;
import jakarta.validation.constraints.PositiveOrZero;
import java.time.Instant;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/** A disk's attachment over HTTP ({@link Attachments} decides what it holds). */
@RestController
@Tag(name = "disks")
class AttachmentController {

    private static final String PROBLEM = "#/components/schemas/Problem";

    private final Attachments attachments;
    private final WriteHolders writers;

    AttachmentController(Attachments attachments, WriteHolders writers) {
        this.attachments = attachments;
        this.writers = writers;
    }

    /**
     * @param nbd an NBD URI of the disk's lc on this node, {@code nbd://host:port/<dataToken>/<lcId>},
     *     for qemu-img, qemu-io, nbdinfo, fio; it opens only that lc, and only until {@code expiresAt}
     *
     * <p>Not {@code NodeView}: springdoc names schemas by simple name, and the node registry's {@code
     * NodeView} would take this one's place in the contract.
     */
    record AttachmentNode(String nodeId, String nbd) {}

    /**
     * @param state {@code in_sync} (has every acknowledged write; serves I/O), {@code rebuilding} (being
     *     filled by a recovery: takes every write, serves no read) or {@code stale} (dropped; serves
     *     nothing)
     * @param nbd in an attachment, for an {@code in_sync} member, and for a {@code rebuilding} one in a
     *     read-write attachment: {@code nbd://host:port/<dataToken>/<lcId>}, a token for this column at
     *     this epoch; null for a stale member and outside attachments
     */
    record ReplicaMemberView(
            String nodeId, String state, @Nullable String nbd) {

        static ReplicaMemberView of(Attachment.MemberExport member) {
            return new ReplicaMemberView(member.nodeId(), member.state().parameter(), member.nbd());
        }
    }

    /**
     * A replica set: every member holds the column's PCs (PC {@code i} of the disk is in column
     * {@code i % columns.length}); {@code epoch} goes up by one whenever a member is dropped, joins to
     * be rebuilt, or becomes in sync.
     */
    record ReplicaColumnView(int column, long epoch, List<ReplicaMemberView> members) {

        static ReplicaColumnView of(Attachment.ColumnExport column) {
            return new ReplicaColumnView(
                    column.column(),
                    column.epoch(),
                    column.members().stream().map(ReplicaMemberView::of).toList());
        }
    }

    /**
     * @param pcSizeBytes bytes per PC; PC {@code i} of the disk lives on {@code nodes[i % nodes.length]}
     * @param access {@code read-write}, or {@code read-only} (the exports open read-only, writes fail)
     * @param expiresAt when the nodes stop accepting the URIs' tokens for new connections: fetch the
     *     attachment again before then
     * @param nodes per column, its preferred in-sync member; read-only where the column has more than
     *     one in-sync member (writes to a replicated disk go through sprig-agent, to every member)
     * @param redundancy {@code healthy} (every member of every column in sync) or {@code degraded}; null
     *     on the embedded backend (one copy)
     * @param columns the replica sets, in column order, with a URI per in-sync member; empty on the
     *     embedded backend
     */
    record AttachmentView(
            String externId,
            long lcId,
            long sizeBytes,
            long pcSizeBytes,
            int segmentSizeBytes,
            String access,
            Instant expiresAt,
            List<AttachmentNode> nodes,
            @Nullable String redundancy,
            List<ReplicaColumnView> columns) {

        static AttachmentView of(Attachment attachment) {
            return new AttachmentView(
                    attachment.externId(),
                    attachment.lcId(),
                    attachment.sizeBytes(),
                    attachment.pcSizeBytes(),
                    attachment.segmentSizeBytes(),
                    attachment.access().parameter(),
                    attachment.expiresAt(),
                    attachment.nodes().stream()
                            .map(node -> new AttachmentNode(node.nodeId(), node.nbd()))
                            .toList(),
                    attachment.redundancy() == null
                            ? null
                            : attachment.redundancy().parameter(),
                    attachment.columns().stream().map(ReplicaColumnView::of).toList());
        }
    }

    /** A client-agent's report that member {@code nodeId} of column {@code column} failed at {@code epoch}. */
    record DropMember(
            @NotNull @PositiveOrZero Integer column,
            @NotBlank String nodeId,
            @NotNull @Positive Long epoch) {}

    @GetMapping(path = "/v1/disks/{id}/attachment", produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(
            summary = "What a client-agent needs for I/O: the disk's lc, geometry, and an NBD URI per node holding its"
                    + " PCs",
            description = "Each URI carries a data token that opens the disk's current lc on that node, read-write or"
                    + " read-only, until expiresAt (sprig.api.attachments.token-lifetime after the call); connections"
                    + " opened before then keep working. Fetch it again before expiresAt, and after a snapshot: the"
                    + " disk then writes to a new lc, and writes to the old one are refused as frozen. A read-write"
                    + " attachment takes (or renews) holder's write lease on the disk until expiresAt: while any"
                    + " lease is live, :revert is refused. End it with DELETE .../attachment?holder= when done"
                    + " writing.")
    AttachmentView attachment(
            @PathVariable String id,
            @Parameter(description = "read-write (the default) or read-only") @RequestParam(defaultValue = "read-write")
                    String access,
            @Parameter(
                            description = "who writes, for a read-write attachment: 1 to 128 letters, digits, '.',"
                                    + " '_', ':', '@' or '-' (sprig-agent sends its host and process); the lease is"
                                    + " this holder's")
                    @RequestParam(defaultValue = WriteHolders.UNNAMED)
                    String holder,
            HttpServletRequest request) {
        // the host this request came by is the embedded node's NBD host too: it is this very process
        return AttachmentView.of(attachments.attach(
                id, Attachments.Access.named(access), WriteHolders.holder(holder), request.getServerName()));
    }

    @DeleteMapping(path = "/v1/disks/{id}/attachment")
    @ResponseStatus(HttpStatus.NO_CONTENT)
    @Operation(
            summary = "Detach: ends holder's write lease on the disk",
            description = "Say it when done writing (sprig-agent does when the last NBD connection to the disk"
                    + " closes): a revert is refused while a write lease is live, and an unended lease lasts until"
                    + " the attachment's expiresAt. Connections already open are not cut. Ending a lease that"
                    + " does not exist succeeds. Errors: 404 NOT_FOUND (no such disk), 400 INVALID_ARGUMENT (a"
                    + " malformed holder).")
    @ApiResponse(responseCode = "204", description = "The lease is gone")
    @ApiResponse(
            responseCode = "404",
            description = "NOT_FOUND: no such disk",
            content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
    void detach(
            @PathVariable String id,
            @Parameter(description = "the holder named when attaching")
                    @RequestParam(defaultValue = WriteHolders.UNNAMED)
                    String holder) {
        writers.close(id, WriteHolders.holder(holder));
    }

    @PostMapping(path = "/v1/disks/{id}/attachment:dropMember", produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(
            summary = "A client-agent reports a replica that failed a write: it is dropped, and the answer is the"
                    + " new attachment",
            description = "For the nodes backend (decision 011). Member nodeId of column column failed a write"
                    + " made with the attachment of epoch epoch: api-server marks it stale, bumps the column's"
                    + " epoch and raises the fences of the remaining members before answering, so that tokens of"
                    + " older epochs are refused there; write the piece again to the new attachment's members."
                    + " A member whose fence cannot be raised is dropped too. A report from an older epoch, or"
                    + " about a member that is stale already, drops nothing and answers the attachment as it is."
                    + " Errors: 404 NOT_FOUND (the disk, or the node in that column), 400 INVALID_ARGUMENT (an"
                    + " epoch later than the column's), 409 INVALID_STATE (the embedded backend: one copy, no"
                    + " member to drop), 503 INSUFFICIENT_REPLICAS with Retry-After (the column would keep fewer"
                    + " than sprig.api.backend.nodes.min-in-sync in-sync members: nothing was dropped; retry for a"
                    + " bounded time, then fail the write).")
    @ApiResponse(responseCode = "200", description = "The attachment after the drop", useReturnTypeSchema = true)
    @ApiResponse(
            responseCode = "404",
            description = "NOT_FOUND: no such disk, or the node is not a member of that column",
            content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
    @ApiResponse(
            responseCode = "400",
            description = "INVALID_ARGUMENT: the epoch is later than the column's",
            content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
    @ApiResponse(
            responseCode = "409",
            description = "INVALID_STATE: the embedded backend (one copy), or the disk is not available",
            content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
    @ApiResponse(
            responseCode = "503",
            description = "INSUFFICIENT_REPLICAS, with Retry-After: too few in-sync members would remain; nothing"
                    + " was dropped",
            content = @Content(mediaType = "application/problem+json", schema = @Schema(ref = PROBLEM)))
    AttachmentView dropMember(
            @PathVariable String id,
            @Parameter(description = "read-write (the default) or read-only, as for GET .../attachment")
                    @RequestParam(defaultValue = "read-write")
                    String access,
            @Parameter(description = "as for GET .../attachment: a read-write answer renews this holder's lease")
                    @RequestParam(defaultValue = WriteHolders.UNNAMED)
                    String holder,
            @Valid @RequestBody DropMember report,
            HttpServletRequest request) {
        return AttachmentView.of(attachments.dropMember(
                id,
                Attachments.Access.named(access),
                WriteHolders.holder(holder),
                request.getServerName(),
                report.column(),
                report.nodeId(),
                report.epoch()));
    }
}
