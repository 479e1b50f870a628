package dev.sprig.api.node;

import dev.sprig.api.SprigApiProperties;
import dev.sprig.api.error.SprigException;
import java.net.URI;
import java.time.Clock;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;
import org.springframework.stereotype.Service;

/**
 * The storage nodes api-server knows, their states, and the stripe of nodes each lc family lives on.
 * Node lookups on the data path read a snapshot at most a second old, so that a clone does not pay
 * a query to find its nodes; a family's stripe never changes once chosen, so it is kept for good.
 */
@Service
public class NodeRegistry {

    private static final long SNAPSHOT_MILLIS = 1_000;

    private final NodeRepository nodes;
    private final SprigApiProperties.Nodes timing;
    private final Clock clock;
    private final Map<Long, List<String>> stripes = new ConcurrentHashMap<>();
    private volatile @Nullable Snapshot snapshot;

    private record Snapshot(Map<String, Node> byId, long takenAtMillis) {}

    NodeRegistry(NodeRepository nodes, SprigApiProperties properties) {
        this.nodes = nodes;
        this.timing = properties.nodes();
        this.clock = Clock.systemUTC();
    }

    /** Registers a node or refreshes it (the heartbeat); true when it was new. */
    public boolean register(String nodeId, Registration registration) {
        validate(nodeId, registration);
        boolean created = nodes.upsert(nodeId, registration);
        snapshot = null;
        return created;
    }

    public Node get(String nodeId) {
        return nodes.find(nodeId).orElseThrow(() -> SprigException.notFound("node " + nodeId));
    }

    public List<Node> all() {
        return nodes.all();
    }

    public Node.State stateOf(Node node) {
        return node.state(timing.unreachableAfter(), timing.downAfter());
    }

    /** Draining nodes keep serving what they hold but get no new families. */
    public Node setDraining(String nodeId, boolean draining) {
        if (!nodes.setDraining(nodeId, draining)) {
            throw SprigException.notFound("node " + nodeId);
        }
        snapshot = null;
        return get(nodeId);
    }

    /** A registered node, from a snapshot at most a second old. */
    public Node node(String nodeId) {
        Node node = current().get(nodeId);
        if (node == null) {
            node = get(nodeId);
        }
        return node;
    }

    /**
     * The nodes a family's PCs are striped over, in order: chosen among the up nodes with the most
     * free space when the family's first lc is placed, then fixed.
     */
    public List<String> stripeOf(long familyId, int width) {
        List<String> known = stripes.get(familyId);
        if (known != null) {
            return known;
        }
        List<String> stripe = nodes.placement(familyId).orElseGet(() -> nodes.placeIfAbsent(familyId, choose(width)));
        stripes.put(familyId, List.copyOf(stripe));
        return stripe;
    }

    /**
     * Up nodes that hold none of {@code families}, most free space first, at most {@code width}:
     * where another copy of an image can go. Empty when every up node holds one of them.
     */
    public List<String> apartFrom(List<Long> families, int width) {
        Set<String> taken = new HashSet<>();
        families.forEach(family -> taken.addAll(stripeOf(family, width)));
        return current().values().stream()
                .filter(node -> node.state(timing.unreachableAfter(), timing.downAfter()) == Node.State.UP)
                .filter(node -> !taken.contains(node.nodeId()))
                .sorted(Comparator.comparingLong(Node::freeBytes).reversed().thenComparing(Node::nodeId))
                .limit(Math.max(1, width))
                .map(Node::nodeId)
                .toList();
    }

    /** Places a new family on {@code nodeIds} (chosen by {@link #apartFrom}) instead of the usual choice. */
    public List<String> placeOn(long familyId, List<String> nodeIds) {
        List<String> stripe = nodes.placeIfAbsent(familyId, nodeIds);
        stripes.put(familyId, List.copyOf(stripe));
        return stripe;
    }

    private List<String> choose(int width) {
        List<String> up = current().values().stream()
                .filter(node -> node.state(timing.unreachableAfter(), timing.downAfter()) == Node.State.UP)
                .sorted(Comparator.comparingLong(Node::freeBytes).reversed().thenComparing(Node::nodeId))
                .limit(Math.max(1, width))
                .map(Node::nodeId)
                .toList();
        if (up.isEmpty()) {
            throw SprigException.invalidState("no storage node is up: register nodes with PUT /v1/nodes/{id}");
        }
        return up;
    }

    private Map<String, Node> current() {
        Snapshot taken = snapshot;
        long now = clock.millis();
        if (taken == null || now - taken.takenAtMillis() > SNAPSHOT_MILLIS) {
            Map<String, Node> byId = new ConcurrentHashMap<>();
            nodes.all().forEach(node -> byId.put(node.nodeId(), node));
            taken = new Snapshot(Map.copyOf(byId), now);
            snapshot = taken;
        }
        return taken.byId();
    }

    private static void validate(String nodeId, Registration registration) {
        NodeIds.require(nodeId);
        URI endpoint;
        try {
            endpoint = URI.create(registration.httpEndpoint());
        } catch (IllegalArgumentException | NullPointerException e) {
            throw SprigException.invalidArgument("httpEndpoint is not a URL: " + registration.httpEndpoint());
        }
        if (!("http".equals(endpoint.getScheme()) || "https".equals(endpoint.getScheme()))
                || endpoint.getHost() == null
                || !(endpoint.getPath() == null || endpoint.getPath().isEmpty())) {
            throw SprigException.invalidArgument(
                    "httpEndpoint must be http(s)://host:port with no path: " + registration.httpEndpoint());
        }
        if (registration.nbdPort() < 1 || registration.nbdPort() > 65535) {
            throw SprigException.invalidArgument("nbdPort must be 1-65535");
        }
        if (registration.token() == null || registration.token().length() < 16) {
            throw SprigException.invalidArgument("token must have at least 16 characters");
        }
        if (registration.capacityBytes() <= 0 || registration.usedBytes() < 0) {
            throw SprigException.invalidArgument("capacityBytes must be positive and usedBytes not negative");
        }
    }
}
