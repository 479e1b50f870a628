package dev.sprig.api.node;

import dev.sprig.api.error.SprigException;
import dev.sprig.nodeapi.RegisterNode;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import jakarta.validation.Valid;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

@RestController
@Tag(
        name = "nodes",
        description = "The storage node registry: registration and heartbeat (the node's own credential), draining"
                + " and credentials (admin key)")
class NodeController {

    private final NodeRegistry registry;
    private final NodeCredentials credentials;
    private final ReplicaMembership membership;
    private final NodeRepairs repairs;
    private final NodeRemoval removal;

    NodeController(
            NodeRegistry registry,
            NodeCredentials credentials,
            ReplicaMembership membership,
            NodeRepairs repairs,
            NodeRemoval removal) {
        this.registry = registry;
        this.credentials = credentials;
        this.membership = membership;
        this.repairs = repairs;
        this.removal = removal;
    }

    /**
     * A node as operators see it; the token is never shown.
     *
     * @param replicaSets how many replica sets (stripe columns of families) it is a member of, in any state
     * @param degradedReplicaSets how many of those have a member that is not in sync (stale, or rebuilding: fewer full copies than configured)
     * @param rebuildingReplicaSets how many of those have this node's own member rebuilding: being filled from another member
     * @param repairedSegments how many segments of its copies replica scrubs repaired from another member (they rotted on
     *     disk or differed), ever
     */
    record NodeView(
            String nodeId,
            String state,
            String httpEndpoint,
            String nbdHost,
            int nbdPort,
            long capacityBytes,
            long usedBytes,
            boolean draining,
            Instant registeredAt,
            Instant lastHeartbeatAt,
            long replicaSets,
            long degradedReplicaSets,
            long rebuildingReplicaSets,
            long repairedSegments) {}

    record NodeList(List<NodeView> items) {}

    /** @param credential what the node registers with (sprig.node.registry.credential); shown this once */
    record IssuedCredential(String nodeId, String credential) {}

    @PutMapping(path = "/v1/nodes/{id}", produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(
            summary = "Register a storage node, or heartbeat (the same call, repeated)",
            description = "Needs the credential issued for this node id (POST /v1/nodes/{id}:issueCredential) as"
                    + " the bearer token; API keys, admin keys included, are refused. Idempotent: 201 the first time,"
                    + " 200 after. A node whose last heartbeat is older than sprig.api.nodes.unreachable-after gets"
                    + " no new families.")
    @ApiResponse(
            responseCode = "201",
            description = "Registered: the first call for this id",
            useReturnTypeSchema = true)
    @ApiResponse(responseCode = "200", description = "A heartbeat: registered before", useReturnTypeSchema = true)
    ResponseEntity<NodeView> register(@PathVariable String id, @Valid @RequestBody RegisterNode request) {
        boolean created = registry.register(
                id,
                new Registration(
                        request.httpEndpoint(),
                        request.nbdHost(),
                        request.nbdPort(),
                        request.token(),
                        request.capacityBytes(),
                        request.usedBytes()));
        return ResponseEntity.status(created ? 201 : 200).body(view(registry.get(id)));
    }

    @GetMapping(path = "/v1/nodes", produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(
            summary = "Every registered node with its state: up, unreachable, down or draining",
            description = "With each node, how many replica sets it is a member of and how many of those are"
                    + " degraded (have a member that is not in sync: stale or rebuilding), and in how many its own member is"
                    + " rebuilding, and how many segments of its copies replica scrubs repaired; sprig_replica_sets_degraded and"
                    + " sprig_replica_sets_rebuilding count the sets, sprig_replica_repairs the repairs.")
    NodeList list() {
        Map<String, ReplicaMembership.Counts> counts = membership.byNode();
        Map<String, Long> repaired = repairs.repairedByNode();
        return new NodeList(registry.all().stream()
                .map(node -> view(
                        node,
                        counts.getOrDefault(node.nodeId(), ReplicaMembership.Counts.NONE),
                        repaired.getOrDefault(node.nodeId(), 0L)))
                .toList());
    }

    @GetMapping(path = "/v1/nodes/{id}", produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(summary = "One registered node")
    NodeView get(@PathVariable String id) {
        return view(registry.get(id));
    }

    @PostMapping(path = "/v1/nodes/{id}:issueCredential", produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(
            summary = "Issue the credential a storage node registers with (admin key)",
            description = "The credential is shown in this answer only (api-server keeps a digest); it admits"
                    + " PUT /v1/nodes/{id} for this id and nothing else. Issuing again revokes the earlier one.")
    @ApiResponse(responseCode = "201", description = "The new credential", useReturnTypeSchema = true)
    ResponseEntity<IssuedCredential> issueCredential(@PathVariable String id) {
        return ResponseEntity.status(201).body(new IssuedCredential(id, credentials.issue(id)));
    }

    @DeleteMapping("/v1/nodes/{id}/credential")
    @Operation(
            summary = "Revoke a node's registration credential (admin key)",
            description = "The node's next heartbeat is refused; it turns unreachable, then down, and gets no new"
                    + " families until a new credential is issued and configured.")
    @ApiResponse(responseCode = "204", description = "Revoked")
    ResponseEntity<Void> revokeCredential(@PathVariable String id) {
        if (!credentials.revoke(id)) {
            throw SprigException.notFound("a credential of node " + id);
        }
        return ResponseEntity.noContent().build();
    }

    @DeleteMapping("/v1/nodes/{id}")
    @Operation(
            summary = "Remove a storage node that holds nothing",
            description = "Refused (409 INVALID_STATE) while the node is a member of any replica set, in any"
                    + " state: drain it first. Its registration credential is revoked with it, so a node left"
                    + " running cannot register again under this id until a new credential is issued.")
    @ApiResponse(responseCode = "204", description = "Removed")
    ResponseEntity<Void> remove(@PathVariable String id) {
        removal.remove(id);
        return ResponseEntity.noContent().build();
    }

    @PostMapping(path = "/v1/nodes/{id}:drain", produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(
            summary = "Stop placing new families on a node and move its replica-set memberships off it",
            description = "Each set where the node is an in-sync member gets a new member, filled by a recovery"
                    + " operation while the node keeps serving; then the node leaves the set and, once in no set"
                    + " of a family, its copies of that family's lcs are deleted. DELETE /v1/nodes/{id} succeeds"
                    + " when it is in none.")
    NodeView drain(@PathVariable String id) {
        return view(registry.setDraining(id, true));
    }

    @PostMapping(path = "/v1/nodes/{id}:undrain", produces = MediaType.APPLICATION_JSON_VALUE)
    @Operation(summary = "Place new families on a drained node again")
    NodeView undrain(@PathVariable String id) {
        return view(registry.setDraining(id, false));
    }

    private NodeView view(Node node) {
        return view(node, membership.of(node.nodeId()), repairs.repairedOn(node.nodeId()));
    }

    private NodeView view(Node node, ReplicaMembership.Counts counts, long repairedSegments) {
        return new NodeView(
                node.nodeId(),
                registry.stateOf(node).name().toLowerCase(java.util.Locale.ROOT),
                node.httpEndpoint(),
                node.nbdHost(),
                node.nbdPort(),
                node.capacityBytes(),
                node.usedBytes(),
                node.draining(),
                node.registeredAt(),
                node.lastHeartbeatAt(),
                counts.replicaSets(),
                counts.degradedReplicaSets(),
                counts.rebuildingReplicaSets(),
                repairedSegments);
    }
}
