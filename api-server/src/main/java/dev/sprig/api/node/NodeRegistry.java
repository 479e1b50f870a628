package dev.sprig.api.node;

import dev.sprig.api.SprigApiProperties;
import dev.sprig.api.database.Transactions;
import dev.sprig.api.error.SprigException;
import java.net.URI;
import java.time.Clock;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.ApplicationEventPublisher;
import org.springframework.stereotype.Service;

/**
 * The storage nodes api-server knows and their states. Node lookups on the data path read a snapshot
 * at most a second old, so that a clone does not pay a query to find its nodes. (Which nodes hold a
 * family is the replica sets', {@code dev.sprig.api.placement}.)
 */
@Service
public class NodeRegistry {

    private static final long SNAPSHOT_MILLIS = 1_000;

    private final NodeRepository nodes;
    private final SprigApiProperties.Nodes timing;
    private final Clock clock;
    private final ApplicationEventPublisher events;
    private final Transactions tx;
    private final ObjectProvider<SilentNodes> silentNodes;
    private volatile @Nullable Snapshot snapshot;

    private record Snapshot(Map<String, Node> byId, long takenAtMillis) {}

    NodeRegistry(
            NodeRepository nodes,
            SprigApiProperties properties,
            ApplicationEventPublisher events,
            Transactions tx,
            ObjectProvider<SilentNodes> silentNodes) {
        this.nodes = nodes;
        this.silentNodes = silentNodes;
        this.tx = tx;
        this.events = events;
        this.timing = properties.nodes();
        this.clock = Clock.systemUTC();
    }

    /**
     * Registers a node or refreshes it (the heartbeat); true when it was new. A node that comes back
     * after being unreachable or down is announced ({@link NodeReturned}): it may have missed
     * fences raised meanwhile.
     */
    public boolean register(String nodeId, Registration registration) {
        validate(nodeId, registration);
        Node before = nodes.find(nodeId).orElse(null);
        // a heartbeat authenticated just before a removal must not bring the removed node back: the
        // credential's row is held while the node's is written, and a removal deletes both
        Boolean created = tx.execute(status -> {
            if (!nodes.lockCredential(nodeId)) {
                throw SprigException.notFound(
                        "a credential of node " + nodeId + " (it was revoked or the node removed)");
            }
            return nodes.upsert(nodeId, registration);
        });
        snapshot = null;
        if (before != null
                && EnumSet.of(Node.State.UNREACHABLE, Node.State.DOWN).contains(stateOf(before))) {
            events.publishEvent(new NodeReturned(nodeId));
        }
        return Boolean.TRUE.equals(created);
    }

    /** A node registered again after being unreachable or down. */
    public record NodeReturned(String nodeId) {}

    public Node get(String nodeId) {
        return nodes.find(nodeId).orElseThrow(() -> SprigException.notFound("node " + nodeId));
    }

    public List<Node> all() {
        return nodes.all();
    }

    public Node.State stateOf(Node node) {
        return node.state(timing.unreachableAfter(), timing.downAfter());
    }

    /**
     * Draining nodes get no new families, and the recovery scan moves their in-sync memberships to
     * other nodes (decision 012); until a membership has moved they serve it as before.
     */
    public Node setDraining(String nodeId, boolean draining) {
        if (!nodes.setDraining(nodeId, draining)) {
            throw SprigException.notFound("node " + nodeId);
        }
        snapshot = null;
        return get(nodeId);
    }

    /** Forgets the node and its credential (the caller has checked it holds nothing); false if unknown. */
    boolean remove(String nodeId) {
        boolean removed = nodes.delete(nodeId);
        snapshot = null;
        return removed;
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
     * The nodes that may take a new family, in the order placement takes them: up (heartbeat recent,
     * not draining) and not {@linkplain SilentNodes silent} to api-server's calls, most free space
     * first, then by id. From the snapshot, at most a second old.
     */
    public List<Node> forNewFamilies() {
        SilentNodes silent = silentNodes.getIfAvailable(() -> nodeId -> false);
        return current().values().stream()
                .filter(node -> stateOf(node) == Node.State.UP && !silent.silent(node.nodeId()))
                .sorted(Comparator.comparingLong(Node::freeBytes).reversed().thenComparing(Node::nodeId))
                .toList();
    }

    /** The state of every registered node, by node id, from the snapshot, at most a second old. */
    public Map<String, Node.State> statesById() {
        Map<String, Node.State> states = new TreeMap<>();
        current().forEach((id, node) -> states.put(id, stateOf(node)));
        return states;
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
