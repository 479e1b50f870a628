package dev.sprig.agent.route;

import java.io.IOException;

/** A node answered the handshake but would not open the export: the lc is not (or no longer) there. */
final class NodeRefusedExportException extends IOException {

    NodeRefusedExportException(NodeExport export, String reason) {
        super(export.host() + ":" + export.port() + " refused its export: " + reason);
    }
}
