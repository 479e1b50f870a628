package dev.sprig.nbd.client;

import java.io.IOException;

/** A server answered the handshake but would not open the export (for a node: the lc is not, or no longer, there). */
public final class ExportRefusedException extends IOException {

    public ExportRefusedException(String server, String exportName, String reason) {
        super(server + " refused export " + withoutCredential(exportName) + ": " + reason);
    }

    /**
     * A node's export name is {@code <data token>/<lcId>}: messages (and so logs) keep the part after
     * the last '/' only.
     */
    static String withoutCredential(String exportName) {
        int slash = exportName.lastIndexOf('/');
        return slash < 0 ? exportName : "…" + exportName.substring(slash);
    }
}
