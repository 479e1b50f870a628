package dev.sprig.api.disk;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.tags.Tag;
import jakarta.servlet.http.HttpServletRequest;
import java.time.Instant;
import java.util.List;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/** A disk's attachment over HTTP ({@link Attachments} decides what it holds). */
@RestController
@Tag(name = "disks")
class AttachmentController {

    private final Attachments attachments;

    AttachmentController(Attachments attachments) {
        this.attachments = attachments;
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
     * @param pcSizeBytes bytes per PC; PC {@code i} of the disk lives on {@code nodes[i % nodes.length]}
     * @param access {@code read-write}, or {@code read-only} (the exports open read-only, writes fail)
     * @param expiresAt when the nodes stop accepting the URIs' tokens for new connections: fetch the
     *     attachment again before then
     */
    record AttachmentView(
            String externId,
            long lcId,
            long sizeBytes,
            long pcSizeBytes,
            int segmentSizeBytes,
            String access,
            Instant expiresAt,
            List<AttachmentNode> nodes) {

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
                            .toList());
        }
    }

    @GetMapping("/v1/disks/{id}/attachment")
    @Operation(
            summary = "What a client-agent needs for I/O: the disk's lc, geometry, and an NBD URI per node holding its"
                    + " PCs",
            description = "Each URI carries a data token that opens the disk's current lc on that node, read-write or"
                    + " read-only, until expiresAt (sprig.api.attachments.token-lifetime after the call); connections"
                    + " opened before then keep working. Fetch it again before expiresAt, and after a snapshot: the"
                    + " disk then writes to a new lc, and writes to the old one are refused as frozen.")
    AttachmentView attachment(
            @PathVariable String id,
            @Parameter(description = "read-write (the default) or read-only") @RequestParam(defaultValue = "read-write")
                    String access,
            HttpServletRequest request) {
        // the host this request came by is the embedded node's NBD host too: it is this very process
        return AttachmentView.of(attachments.attach(id, Attachments.Access.named(access), request.getServerName()));
    }
}
