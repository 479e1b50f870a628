package dev.sprig.api.node;

import dev.sprig.api.database.Transactions;
import dev.sprig.api.error.SprigException;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.stereotype.Service;

/**
 * Takes a storage node out of the cluster for good ({@code DELETE /v1/nodes/{id}}). A node that is a
 * member of any replica set, in any state, may hold the only other copy of some data, so it is
 * refused until draining has moved every membership off it; its credential goes with it, so that a
 * node left running cannot register again under that id until an operator issues a new one.
 */
@Service
public class NodeRemoval {

    private final NodeRegistry registry;
    private final ReplicaMembership membership;
    private final Transactions tx;

    NodeRemoval(NodeRegistry registry, ReplicaMembership membership, Transactions tx) {
        this.registry = registry;
        this.membership = membership;
        this.tx = tx;
    }

    public void remove(String nodeId) {
        try {
            tx.executeWithoutResult(status -> {
                registry.get(nodeId);
                ReplicaMembership.Counts counts = membership.of(nodeId);
                if (counts.replicaSets() > 0) {
                    throw stillAMember(nodeId, counts.replicaSets());
                }
                registry.remove(nodeId);
            });
        } catch (DataIntegrityViolationException placedMeanwhile) {
            // a family placed on it between the check and the delete: its membership row refers to the node
            throw stillAMember(nodeId, membership.of(nodeId).replicaSets());
        }
    }

    private static SprigException stillAMember(String nodeId, long sets) {
        return SprigException.invalidState("storage node " + nodeId + " is a member of " + sets
                + " replica set(s) and may hold their only other copies; drain it (POST /v1/nodes/" + nodeId
                + ":drain) and delete it once it is a member of none");
    }
}
