package dev.sprig.agent;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.sprig.client.AttachmentNode;
import dev.sprig.client.AttachmentView;
import dev.sprig.client.DropMember;
import dev.sprig.client.ReplicaColumnView;
import dev.sprig.client.ReplicaMemberView;
import dev.sprig.client.Wire;
import dev.sprig.node.access.DataAccess;
import dev.sprig.node.access.DataGrant;
import dev.sprig.node.access.DataTokens;
import dev.sprig.node.access.ReplicaEpoch;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;

/**
 * A stand-in for api-server's side of decision 011, for one disk on real storage nodes: {@code GET
 * /v1/disks/{id}/attachment} with a column per replica set and a data token per in-sync member,
 * signed with that node's key at the set's epoch, and {@code POST .../attachment:dropMember}, which
 * marks the member stale, bumps the epoch, raises the fences of the others (best effort: nodes
 * without fences answer 404) and answers the new attachment, or {@code 503 INSUFFICIENT_REPLICAS}
 * when fewer than {@code minInSync} would remain. A node may be made a {@code rebuilding} member of
 * every column (issue 20, {@link #rebuilding(int)}): it gets a read-write token like an in-sync
 * member, is never the flat list's node, and dropping it is always allowed (it does not count
 * against {@code minInSync}). Column {@code c}'s members are the nodes from
 * {@code c} on, round the list, as api-server places them. The disk's lc is its family's only one:
 * the family id is the lc id, so that every disk has fences of its own.
 */
final class ReplicaSetsApi implements AutoCloseable {

    record Drop(int column, String nodeId, long epoch, int status) {}

    private final StorageNodes nodes;
    private final String externId;
    private final long lcId;
    private final long sizeBytes;
    private final int minInSync;
    /** members[c][k]: node index of member k of column c. */
    private final int[][] members;

    private final boolean[][] stale;
    private final boolean[][] rebuilding;
    private final long[] epochs;
    private final DataTokens[] keys;
    private final HttpServer server;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    final List<Drop> drops = new CopyOnWriteArrayList<>();

    ReplicaSetsApi(StorageNodes nodes, String externId, long lcId, long sizeBytes, int columns, int minInSync)
            throws IOException {
        this.nodes = nodes;
        this.externId = externId;
        this.lcId = lcId;
        this.sizeBytes = sizeBytes;
        this.minInSync = minInSync;
        this.members = new int[columns][nodes.count()];
        this.stale = new boolean[columns][nodes.count()];
        this.rebuilding = new boolean[columns][nodes.count()];
        this.epochs = new long[columns];
        for (int c = 0; c < columns; c++) {
            epochs[c] = 1;
            for (int k = 0; k < nodes.count(); k++) {
                members[c][k] = (c + k) % nodes.count();
            }
        }
        keys = new DataTokens[nodes.count()];
        for (int node = 0; node < nodes.count(); node++) {
            keys[node] = DataTokens.forNodeToken(nodes.token(node));
        }
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/v1/disks/" + externId + "/attachment", this::attachment);
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.start();
    }

    URI uri() {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort());
    }

    /** Node index of member {@code position} of column {@code column}. */
    int member(int column, int position) {
        return members[column][position];
    }

    synchronized boolean inSync(int column, int node) {
        return state(column, node).equals("in_sync");
    }

    /** {@code in_sync}, {@code rebuilding} or {@code stale}: what the attachment lists {@code node} as in {@code column}. */
    synchronized String state(int column, int node) {
        int k = positionOf(column, node);
        return stale[column][k] ? "stale" : rebuilding[column][k] ? "rebuilding" : "in_sync";
    }

    /** Makes {@code node} a rebuilding member of every column, as issue 20 adds a new member. */
    synchronized void rebuilding(int node) {
        for (int c = 0; c < members.length; c++) {
            rebuilding[c][positionOf(c, node)] = true;
        }
    }

    synchronized long epoch(int column) {
        return epochs[column];
    }

    /** A token for {@code node} in {@code column} at the column's current epoch. */
    synchronized String token(int column, int node, DataAccess access) {
        return keys[node].sign(new DataGrant(
                lcId,
                access,
                Instant.now().plus(Duration.ofHours(1)),
                new ReplicaEpoch(lcId, column, epochs.length, epochs[column])));
    }

    private void attachment(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            if (path.endsWith("/attachment") && exchange.getRequestMethod().equals("GET")) {
                answer(exchange, 200, "application/json", Wire.write(view()));
            } else if (path.endsWith("/attachment:dropMember")
                    && exchange.getRequestMethod().equals("POST")) {
                DropMember drop = Wire.read(
                        new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8), DropMember.class);
                dropMember(exchange, drop);
            } else {
                answer(exchange, 404, "text/plain", "no");
            }
        }
    }

    private void dropMember(HttpExchange exchange, DropMember drop) throws IOException {
        int node = indexOf(drop.nodeId());
        List<Integer> fenced = new ArrayList<>();
        long epoch;
        synchronized (this) {
            int position = positionOf(drop.column(), node);
            if (!stale[drop.column()][position]) {
                int inSync = 0;
                for (int k = 0; k < members[drop.column()].length; k++) {
                    inSync += stale[drop.column()][k] || rebuilding[drop.column()][k] ? 0 : 1;
                }
                // a rebuilding member does not count against min-in-sync: dropping it is always allowed
                if (!rebuilding[drop.column()][position] && inSync - 1 < minInSync) {
                    drops.add(new Drop(drop.column(), drop.nodeId(), drop.epoch(), 503));
                    answer(
                            exchange,
                            503,
                            "application/problem+json",
                            "{\"title\":\"Service Unavailable\",\"status\":503,\"code\":\"INSUFFICIENT_REPLICAS\","
                                    + "\"detail\":\"column " + drop.column() + " would keep " + (inSync - 1)
                                    + " in-sync members, fewer than " + minInSync + "\"}");
                    return;
                }
                stale[drop.column()][position] = true;
                rebuilding[drop.column()][position] = false;
                epochs[drop.column()]++;
                for (int k = 0; k < members[drop.column()].length; k++) {
                    if (!stale[drop.column()][k]) {
                        fenced.add(members[drop.column()][k]);
                    }
                }
            }
            drops.add(new Drop(drop.column(), drop.nodeId(), drop.epoch(), 200));
            epoch = epochs[drop.column()];
        }
        for (int member : fenced) {
            fence(member, drop.column(), epoch);
        }
        answer(exchange, 200, "application/json", Wire.write(view()));
    }

    /** Raises the member's fence, as api-server does after the bump commits; a node without fences says 404. */
    private void fence(int node, int column, long epoch) {
        try {
            http.send(
                    HttpRequest.newBuilder(nodes.http(node).resolve("/v1/fences/" + lcId + "/" + column))
                            .header("Authorization", "Bearer " + nodes.token(node))
                            .header("Content-Type", "application/json")
                            .timeout(Duration.ofSeconds(1))
                            .PUT(HttpRequest.BodyPublishers.ofString("{\"epoch\":" + epoch + "}"))
                            .build(),
                    HttpResponse.BodyHandlers.discarding());
        } catch (IOException notNow) {
            // best effort here; api-server's reconciler raises it later
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private synchronized AttachmentView view() {
        List<ReplicaColumnView> columns = new ArrayList<>();
        List<AttachmentNode> flat = new ArrayList<>();
        boolean degraded = false;
        for (int c = 0; c < members.length; c++) {
            List<ReplicaMemberView> views = new ArrayList<>();
            for (int k = 0; k < members[c].length; k++) {
                int node = members[c][k];
                degraded |= stale[c][k];
                views.add(
                        stale[c][k]
                                ? new ReplicaMemberView(nodes.id(node), "stale", null)
                                : new ReplicaMemberView(
                                        nodes.id(node),
                                        rebuilding[c][k] ? "rebuilding" : "in_sync",
                                        nbd(node, token(c, node, DataAccess.READ_WRITE))));
            }
            columns.add(new ReplicaColumnView(c, epochs[c], views));
            int preferred = -1;
            List<Integer> inSync = new ArrayList<>();
            for (int k = 0; k < members[c].length; k++) {
                if (!stale[c][k] && !rebuilding[c][k]) {
                    inSync.add(members[c][k]);
                }
            }
            preferred = inSync.get(c % inSync.size());
            flat.add(new AttachmentNode(nodes.id(preferred), nbd(preferred, token(c, preferred, DataAccess.READ))));
        }
        return new AttachmentView(
                externId,
                lcId,
                sizeBytes,
                4L << 20,
                256 << 10,
                "read-write",
                Instant.now().plus(Duration.ofHours(1)),
                flat,
                degraded ? "degraded" : "healthy",
                columns);
    }

    String nbd(int node, String token) {
        return "nbd://127.0.0.1:" + nodes.nbdPort(node) + "/" + token + "/" + lcId;
    }

    private int indexOf(String nodeId) {
        for (int node = 0; node < nodes.count(); node++) {
            if (nodes.id(node).equals(nodeId)) {
                return node;
            }
        }
        throw new IllegalArgumentException("no node " + nodeId);
    }

    private int positionOf(int column, int node) {
        for (int k = 0; k < members[column].length; k++) {
            if (members[column][k] == node) {
                return k;
            }
        }
        throw new IllegalArgumentException("node " + node + " is not in column " + column);
    }

    private static void answer(HttpExchange exchange, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", type);
        exchange.sendResponseHeaders(status, bytes.length);
        exchange.getResponseBody().write(bytes);
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
