package dev.sprig.agent.route;

import dev.sprig.nbd.Nbd;
import dev.sprig.nbd.client.NbdClient;
import dev.sprig.nbd.server.Extents;
import dev.sprig.nbd.server.NbdDisk;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.util.LinkedHashSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A disk whose requests are cut at PC boundaries and sent, piece by piece, to the node holding each
 * PC. When a node refuses a write as frozen (EPERM: a snapshot moved the disk to a new lc) or no
 * longer has the export (the lc moved), or a pooled connection turns out broken, the attachment is
 * fetched again and the piece retried once, so the NBD client never sees it.
 */
final class RoutedDisk implements NbdDisk {

    /** Block status asks at most this many PCs' nodes per request; the client asks again for the rest. */
    static final int STATUS_PIECES = 64;

    private static final Logger log = LoggerFactory.getLogger(RoutedDisk.class);

    private final Attachments attachments;
    private final NodePool pool;
    private volatile Attachment attachment;

    RoutedDisk(Attachment attachment, Attachments attachments, NodePool pool) {
        this.attachment = attachment;
        this.attachments = attachments;
        this.pool = pool;
    }

    @Override
    public long sizeBytes() {
        return attachment.sizeBytes();
    }

    @Override
    public int read(long offset, int length, ByteBuf into) {
        return eachPiece(offset, length, (connection, pieceOffset, done, pieceLength) -> {
            int mark = into.writerIndex();
            int error = connection.read(pieceOffset, (int) pieceLength, into);
            if (error != 0) {
                into.writerIndex(mark);
            }
            return error;
        });
    }

    @Override
    public int write(long offset, ByteBuf data, boolean fua) {
        int start = data.readerIndex();
        return eachPiece(
                offset,
                data.readableBytes(),
                (connection, pieceOffset, done, pieceLength) ->
                        connection.write(pieceOffset, data, start + (int) done, (int) pieceLength, fua));
    }

    @Override
    public int trim(long offset, long length, boolean fua) {
        return eachPiece(
                offset,
                length,
                (connection, pieceOffset, done, pieceLength) -> connection.trim(pieceOffset, pieceLength, fua));
    }

    @Override
    public int writeZeroes(long offset, long length, boolean fua) {
        return eachPiece(
                offset,
                length,
                (connection, pieceOffset, done, pieceLength) -> connection.writeZeroes(pieceOffset, pieceLength, fua));
    }

    /**
     * Each PC's extents come from its node. Stops after the PC where the first extent ends (what
     * QEMU, asking for one extent at a time, needs) or after {@value #STATUS_PIECES} PCs.
     */
    @Override
    public int allocation(long offset, long length, Extents into) {
        int pieces = 0;
        for (PcPiece at : PcPiece.of(offset, length, attachment.pcSizeBytes())) {
            long before = into.covered();
            int error = withRetry(at.pcIndex(), connection -> {
                into.truncate(before); // a retry starts the piece afresh
                return connection.allocation(at.offset(), at.length(), into);
            });
            if (error != 0) {
                return error;
            }
            if (into.count() > 1 || ++pieces == STATUS_PIECES) {
                return 0;
            }
        }
        return 0;
    }

    /** Every node the disk has written to must make its writes durable before the flush is answered. */
    @Override
    public int flush() {
        Set<NodeExport> nodes = new LinkedHashSet<>(attachment.nodes());
        for (NodeExport node : nodes) {
            try {
                int error = pool.call(node, NbdClient::flush);
                if (error != 0) {
                    return error;
                }
            } catch (IOException failure) {
                log.warn("{}: flush on {} failed: {}", attachment.externId(), node, failure.toString());
                return Nbd.EIO;
            }
        }
        return 0;
    }

    @FunctionalInterface
    private interface Piece {
        int on(NbdClient connection, long pieceOffset, long done, long pieceLength) throws IOException;
    }

    private int eachPiece(long offset, long length, Piece piece) {
        for (PcPiece at : PcPiece.of(offset, length, attachment.pcSizeBytes())) {
            int error =
                    withRetry(at.pcIndex(), connection -> piece.on(connection, at.offset(), at.done(), at.length()));
            if (error != 0) {
                return error;
            }
        }
        return 0;
    }

    private int withRetry(long pcIndex, NodePool.Call call) {
        try {
            int error = pool.call(attachment.nodeOf(pcIndex), call);
            if (error != Nbd.EPERM) {
                return error;
            }
        } catch (IOException failure) {
            log.info(
                    "{}: PC {} failed ({}); refreshing the attachment",
                    attachment.externId(),
                    pcIndex,
                    failure.toString());
        }
        try {
            attachment = attachments.of(attachment.externId());
            return pool.call(attachment.nodeOf(pcIndex), call);
        } catch (IOException | UnknownDiskException failure) {
            log.warn("{}: PC {} failed after refreshing: {}", attachment.externId(), pcIndex, failure.toString());
            return Nbd.EIO;
        }
    }
}
