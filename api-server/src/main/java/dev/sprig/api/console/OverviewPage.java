package dev.sprig.api.console;

import dev.sprig.api.cache.CacheStats;
import dev.sprig.api.cache.ImageCache;
import dev.sprig.api.lineage.Inventory;
import dev.sprig.api.node.Node;
import dev.sprig.api.node.NodeRegistry;
import dev.sprig.api.node.ReplicaMembership;
import dev.sprig.api.operation.OperationView;
import dev.sprig.api.operation.Operations;
import java.util.EnumMap;
import java.util.Map;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;

/** The first page: what exists, how full the cache is, how the nodes and their replica sets are, what runs. */
@Controller
class OverviewPage {

    static final int RUNNING_SHOWN = 10;

    private final Inventory inventory;
    private final ImageCache cache;
    private final NodeRegistry nodes;
    private final ReplicaMembership replicas;
    private final Operations operations;

    OverviewPage(
            Inventory inventory,
            ImageCache cache,
            NodeRegistry nodes,
            ReplicaMembership replicas,
            Operations operations) {
        this.inventory = inventory;
        this.cache = cache;
        this.nodes = nodes;
        this.replicas = replicas;
        this.operations = operations;
    }

    @GetMapping({"/console", "/console/"})
    String overview(Model model) {
        CacheStats stats = cache.stats();
        Map<Node.State, Long> byState = new EnumMap<>(Node.State.class);
        for (Node.State state : Node.State.values()) {
            byState.put(state, 0L);
        }
        Map<String, Node.State> registered = nodes.statesById();
        registered.values().forEach(state -> byState.merge(state, 1L, Long::sum));
        model.addAttribute("counts", inventory.counts());
        model.addAttribute("cache", stats);
        model.addAttribute("nodesByState", byState);
        model.addAttribute("nodeCount", registered.size());
        model.addAttribute("degradedSets", replicas.degradedSets());
        model.addAttribute("rebuildingSets", replicas.rebuildingSets());
        var running = operations.page(null, "running", null, null, RUNNING_SHOWN);
        model.addAttribute(
                "running", running.items().stream().map(OperationView::of).toList());
        model.addAttribute("moreRunning", running.nextPageToken() != null);
        return "console/overview";
    }
}
