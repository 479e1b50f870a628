package dev.sprig.api.node;

import dev.sprig.api.error.SprigException;
import java.util.regex.Pattern;

/** The one rule for a node id, the same as the database's check on {@code node.node_id}. */
final class NodeIds {

    private static final Pattern NODE_ID = Pattern.compile("[a-z0-9][a-z0-9.-]{0,62}");

    private NodeIds() {}

    static boolean valid(String nodeId) {
        return NODE_ID.matcher(nodeId).matches();
    }

    /** {@code nodeId}, if valid; else an invalid argument naming the rule. */
    static String require(String nodeId) {
        if (!valid(nodeId)) {
            throw SprigException.invalidArgument(
                    "node id must be 1-63 lower-case letters, digits, dots or dashes: " + nodeId);
        }
        return nodeId;
    }
}
