package dev.sprig.api.disk;

import dev.sprig.api.backend.StorageBackend.NodeAccess;
import dev.sprig.api.error.SprigException;
import dev.sprig.node.access.DataAccess;
import dev.sprig.node.access.DataGrant;
import dev.sprig.node.access.DataTokens;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.tags.Tag;
import jakarta.servlet.http.HttpServletRequest;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

/**
 * Attachments: where a disk's bytes are and a data token per node that opens the disk's lc there,
 * and nothing else, until the token expires. The node token, with which api-server controls a
 * node, never leaves api-server; the data tokens are signed with a key derived from it, so the node
 * checks them without asking anyone.
 */
@RestController
@Tag(name = "disks")
class AttachmentController {

    private final DiskService disks;
    private final AttachmentProperties properties;
    private final Clock clock = Clock.systemUTC();

    AttachmentController(DiskService disks, AttachmentProperties properties) {
        this.disks = disks;
        this.properties = properties;
    }

    /**
     * @param nbd an NBD URI of the disk's lc on this node, {@code nbd://host:port/<dataToken>/<lcId>},
     *     for qemu-img, qemu-io, nbdinfo, fio; it opens only that lc, and only until {@code expiresAt}
     */
    record NodeView(String nodeId, String nbd) {}

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
            List<NodeView> nodes) {}

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
        DataAccess rights = switch (access) {
            case "read-write" -> DataAccess.READ_WRITE;
            case "read-only" -> DataAccess.READ;
            default -> throw SprigException.invalidArgument("access must be read-write or read-only");
        };
        Attachment attachment = disks.attachment(id);
        Instant expiresAt = Instant.ofEpochSecond(
                clock.instant().plus(properties.tokenLifetime()).getEpochSecond());
        DataGrant grant = new DataGrant(attachment.lcId(), rights, expiresAt);
        return new AttachmentView(
                attachment.externId(),
                attachment.lcId(),
                attachment.sizeBytes(),
                attachment.pcSizeBytes(),
                attachment.segmentSizeBytes(),
                access,
                expiresAt,
                attachment.nodes().stream()
                        .map(node -> new NodeView(node.nodeId(), nbdUri(node, grant, request)))
                        .toList());
    }

    private static String nbdUri(NodeAccess node, DataGrant grant, HttpServletRequest request) {
        String host = node.nbdHost() == null ? request.getServerName() : node.nbdHost();
        if (host.contains(":") && !host.startsWith("[")) {
            host = "[" + host + "]"; // an IPv6 literal
        }
        String token = DataTokens.forNodeToken(node.token()).sign(grant);
        return "nbd://" + host + ":" + node.nbdPort() + "/" + token + "/" + grant.lcId();
    }
}
