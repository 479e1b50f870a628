package dev.sprig.agent.route;

import java.util.ArrayList;
import java.util.List;

/**
 * The part of a request that falls in one PC: {@code done} bytes of the request come before it.
 * A node holds whole PCs, so a request is sent as one piece per PC it touches.
 */
record PcPiece(long pcIndex, long offset, long length, long done) {

    /** The pieces of {@code [offset, offset + length)}, in order, each inside one PC. */
    static List<PcPiece> of(long offset, long length, long pcSizeBytes) {
        List<PcPiece> pieces = new ArrayList<>();
        for (long done = 0; done < length; ) {
            long at = offset + done;
            long pieceLength = Math.min(length - done, pcSizeBytes - at % pcSizeBytes);
            pieces.add(new PcPiece(at / pcSizeBytes, at, pieceLength, done));
            done += pieceLength;
        }
        return pieces;
    }
}
