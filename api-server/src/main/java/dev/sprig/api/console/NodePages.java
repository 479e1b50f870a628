package dev.sprig.api.console;

import dev.sprig.api.node.Node;
import dev.sprig.api.node.NodeRegistry;
import dev.sprig.api.node.ReplicaMembership;
import java.util.List;
import java.util.Map;
import org.springframework.security.core.Authentication;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.servlet.mvc.support.RedirectAttributes;

/**
 * Storage nodes with capacity, usage, state and replica sets; draining one and taking it back. The
 * node registry is an admin key's, as in the API ({@code GET /v1/nodes}): ConsoleSecurity keeps these
 * pages to admin keys.
 */
@Controller
class NodePages {

    /** A node as its row shows it: what an operator reads, never its token. */
    record NodeRow(
            String nodeId,
            String httpEndpoint,
            Node.State state,
            boolean draining,
            long usedBytes,
            long capacityBytes,
            java.time.Instant lastHeartbeatAt,
            ReplicaMembership.Counts replicaSets) {

        static NodeRow of(Node node, Node.State state, ReplicaMembership.Counts replicaSets) {
            return new NodeRow(
                    node.nodeId(),
                    node.httpEndpoint(),
                    state,
                    node.draining(),
                    node.usedBytes(),
                    node.capacityBytes(),
                    node.lastHeartbeatAt(),
                    replicaSets);
        }
    }

    private final NodeRegistry registry;
    private final ReplicaMembership membership;
    private final Actions actions;

    NodePages(NodeRegistry registry, ReplicaMembership membership, Actions actions) {
        this.registry = registry;
        this.membership = membership;
        this.actions = actions;
    }

    @GetMapping("/console/nodes")
    String nodes(Model model) {
        Map<String, ReplicaMembership.Counts> counts = membership.byNode();
        List<NodeRow> rows = registry.all().stream()
                .map(node -> NodeRow.of(
                        node,
                        registry.stateOf(node),
                        counts.getOrDefault(node.nodeId(), ReplicaMembership.Counts.NONE)))
                .toList();
        model.addAttribute("nodes", rows);
        return "console/nodes";
    }

    @PostMapping("/console/nodes/{id}/drain")
    String drain(@PathVariable String id, Authentication who, RedirectAttributes flash) {
        return actions.asAdmin(who, flash, "/console/nodes", () -> {
            registry.setDraining(id, true);
            return new Actions.Outcome(
                    "/console/nodes", "Node " + id + " drains: its replica-set memberships move to other nodes.");
        });
    }

    @PostMapping("/console/nodes/{id}/undrain")
    String undrain(@PathVariable String id, Authentication who, RedirectAttributes flash) {
        return actions.asAdmin(who, flash, "/console/nodes", () -> {
            registry.setDraining(id, false);
            return new Actions.Outcome("/console/nodes", "Node " + id + " takes new families again.");
        });
    }
}
