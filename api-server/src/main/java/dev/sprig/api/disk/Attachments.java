package dev.sprig.api.disk;

import dev.sprig.api.SprigApiProperties;
import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.backend.StorageBackend.NodeAccess;
import dev.sprig.api.disk.Attachment.NodeExport;
import dev.sprig.api.error.SprigException;
import dev.sprig.api.lineage.Resource;
import dev.sprig.api.lineage.ResourceRepository;
import dev.sprig.engine.ChunkEngine;
import dev.sprig.node.access.DataAccess;
import dev.sprig.node.access.DataGrant;
import dev.sprig.node.access.DataTokens;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import org.springframework.stereotype.Service;

/**
 * Attachments: where a disk's bytes are and a data token per node that opens the disk's lc there,
 * and nothing else, until the token expires. The node token, with which api-server controls a
 * node, never leaves api-server; the data tokens are signed with a key derived from it, so the node
 * checks them without asking anyone.
 */
@Service
public class Attachments {

    /** What an attachment lets its holder do; named as clients ask for it. */
    public enum Access {
        READ_WRITE("read-write", DataAccess.READ_WRITE),
        READ_ONLY("read-only", DataAccess.READ);

        private final String parameter;
        private final DataAccess rights;

        Access(String parameter, DataAccess rights) {
            this.parameter = parameter;
            this.rights = rights;
        }

        /** The access named {@code read-write} or {@code read-only}; an invalid argument otherwise. */
        public static Access named(String name) {
            for (Access access : values()) {
                if (access.parameter.equals(name)) {
                    return access;
                }
            }
            throw SprigException.invalidArgument("access must be read-write or read-only");
        }

        public String parameter() {
            return parameter;
        }
    }

    private final DiskService disks;
    private final StorageBackend backend;
    private final Duration tokenLifetime;
    private final Clock clock = Clock.systemUTC();

    Attachments(DiskService disks, StorageBackend backend, SprigApiProperties properties) {
        this.disks = disks;
        this.backend = backend;
        this.tokenLifetime = properties.attachments().tokenLifetime();
    }

    /**
     * What a client-agent needs for I/O on the disk, as of now (a snapshot moves the disk to a new
     * lc). I/O goes on while the disk is being flattened.
     *
     * @param requestHost the host name the client reached api-server by: the NBD host of a node that
     *     has none of its own (the embedded one, served by this very process)
     */
    public Attachment attach(String diskId, Access access, String requestHost) {
        Resource disk = disks.get(diskId);
        if (!disk.state().equals("available") && !disk.state().equals(ResourceRepository.FLATTENING)) {
            throw SprigException.invalidState("disk " + diskId + " is " + disk.state() + ", not available");
        }
        long lcId = Objects.requireNonNull(disk.lcId());
        // whole seconds: the token carries its expiry in seconds, and the answer says the same instant
        Instant expiresAt =
                Instant.ofEpochSecond(clock.instant().plus(tokenLifetime).getEpochSecond());
        DataGrant grant = new DataGrant(lcId, access.rights, expiresAt);
        return new Attachment(
                diskId,
                lcId,
                disk.sizeBytes(),
                ChunkEngine.PC_SIZE,
                ChunkEngine.SEGMENT_SIZE,
                access,
                expiresAt,
                backend.placementOf(lcId).stream()
                        .map(node -> new NodeExport(node.nodeId(), nbdUri(node, grant, requestHost)))
                        .toList());
    }

    /** {@code nbd://host:port/<dataToken>/<lcId>}, the export name the node's NBD server checks. */
    private static String nbdUri(NodeAccess node, DataGrant grant, String requestHost) {
        String host = node.nbdHost() == null ? requestHost : node.nbdHost();
        if (host.contains(":") && !host.startsWith("[")) {
            host = "[" + host + "]"; // an IPv6 literal
        }
        String token = DataTokens.forNodeToken(node.token()).sign(grant);
        return "nbd://" + host + ":" + node.nbdPort() + "/" + token + "/" + grant.lcId();
    }
}
