package dev.sprig.api.backend.remote;

import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.backend.remote.NodeClient.Target;
import dev.sprig.api.error.SprigException;
import dev.sprig.api.node.Node;
import dev.sprig.api.node.NodeRegistry;
import dev.sprig.engine.ChunkEngine;
import dev.sprig.nodeapi.Job;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.LongStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link StorageBackend} on the storage nodes of the registry. Every lc of a family is defined on
 * each node of the family's stripe (the definitions are small); PC {@code i} of any of them lives on
 * {@code stripe[i % n]}, so a clone's redirect of a PC copies from its parent's copy on the same
 * node. Calls go through {@link NodeCalls}: a node that does not answer fails the request that needs
 * it with 503 and leaves the others alone.
 */
final class RemoteBackend implements StorageBackend {

    private static final Logger log = LoggerFactory.getLogger(RemoteBackend.class);

    private final NodeRegistry registry;
    private final NodeClient client;
    private final NodeCalls calls;
    private final FamilyLookup families;
    private final int stripeWidth;

    RemoteBackend(NodeRegistry registry, NodeClient client, NodeCalls calls, FamilyLookup families, int stripeWidth) {
        this.registry = registry;
        this.client = client;
        this.calls = calls;
        this.families = families;
        this.stripeWidth = stripeWidth;
    }

    @Override
    public void define(List<LcSpec> lcs) {
        Map<Long, List<LcSpec>> byFamily = new LinkedHashMap<>();
        for (LcSpec lc : lcs) {
            byFamily.computeIfAbsent(lc.familyId(), family -> new ArrayList<>()).add(lc);
            families.remember(lc.lcId(), lc.familyId());
        }
        byFamily.forEach((family, batch) -> {
            for (Target node : stripe(family)) {
                calls.run(node.nodeId(), () -> client.define(node, batch));
            }
        });
    }

    @Override
    public void freeze(long lcId) {
        for (Target node : stripe(families.of(lcId))) {
            calls.run(node.nodeId(), () -> client.freeze(node, lcId));
        }
    }

    /**
     * Deletes on every node of the stripe when the family is known, else on every registered node.
     * Never fails the caller, whose metadata is already gone: a node that does not answer keeps the
     * lc until the reconciler collects it.
     */
    @Override
    public void delete(long lcId) {
        List<Target> targets = families.known(lcId)
                .map(this::stripe)
                .orElseGet(
                        () -> registry.all().stream().map(RemoteBackend::target).toList());
        for (Target node : targets) {
            try {
                calls.run(node.nodeId(), () -> client.delete(node, lcId));
            } catch (SprigException.NodeUnavailable | NodeClient.Refused failed) {
                log.warn("lc {} stays on node {} for the reconciler: {}", lcId, node.nodeId(), failed.getMessage());
            }
        }
        families.forget(lcId);
    }

    @Override
    public void write(long lcId, long offset, ByteBuffer bytes) {
        List<Target> stripe = stripe(families.of(lcId));
        ByteBuffer rest = bytes.duplicate();
        long at = offset;
        while (rest.hasRemaining()) {
            long pc = at / ChunkEngine.PC_SIZE;
            int inPc = (int) Math.min(rest.remaining(), (pc + 1) * ChunkEngine.PC_SIZE - at);
            ByteBuffer piece = rest.slice(rest.position(), inPc);
            Target node = stripe.get((int) (pc % stripe.size()));
            long pieceAt = at;
            calls.run(node.nodeId(), () -> client.write(node, lcId, pieceAt, piece));
            rest.position(rest.position() + inPc);
            at += inPc;
        }
    }

    @Override
    public void read(long lcId, long offset, ByteBuffer into) {
        List<Target> stripe = stripe(families.of(lcId));
        long at = offset;
        while (into.hasRemaining()) {
            long pc = at / ChunkEngine.PC_SIZE;
            int inPc = (int) Math.min(into.remaining(), (pc + 1) * ChunkEngine.PC_SIZE - at);
            Target node = stripe.get((int) (pc % stripe.size()));
            long pieceAt = at;
            into.put(calls.call(node.nodeId(), () -> client.read(node, lcId, pieceAt, inPc)));
            at += inPc;
        }
    }

    @Override
    public long copyRange(long fromLcId, long toLcId, long offset, long length) {
        List<Target> from = stripe(families.of(fromLcId));
        List<Target> to = stripe(families.of(toLcId));
        long stored = 0;
        for (long at = offset; at < offset + length; ) {
            long pc = at / ChunkEngine.PC_SIZE;
            long inPc = Math.min(offset + length - at, (pc + 1) * ChunkEngine.PC_SIZE - at);
            Target source = from.get((int) (pc % from.size()));
            Target node = to.get((int) (pc % to.size()));
            long pieceAt = at;
            stored += calls.call(node.nodeId(), () -> client.copyFrom(node, toLcId, source, fromLcId, pieceAt, inPc));
            at += inPc;
        }
        return stored;
    }

    /**
     * Each node of the family's stripe answers for the PCs it holds; a node that does not answer
     * fails the call rather than make the lc look emptier than it is.
     */
    @Override
    public List<PcRun> pcsWithData(long lcId) {
        LongStream.Builder pcs = LongStream.builder();
        for (Target node : stripe(families.of(lcId))) {
            for (PcRun run : calls.call(node.nodeId(), () -> client.allocation(node, lcId))) {
                for (long pc = run.firstPc(); pc < run.firstPc() + run.pcCount(); pc++) {
                    pcs.add(pc);
                }
            }
        }
        return PcRun.of(pcs.build().sorted().distinct().toArray());
    }

    @Override
    public boolean canPlaceApart(List<Long> lcIds) {
        return !registry.apartFrom(lcIds.stream().map(families::of).toList(), stripeWidth)
                .isEmpty();
    }

    @Override
    public boolean placeApart(long lcId, List<Long> apartFrom) {
        List<String> apart =
                registry.apartFrom(apartFrom.stream().map(families::of).toList(), stripeWidth);
        if (apart.isEmpty()) {
            return false;
        }
        registry.placeOn(lcId, apart);
        return true;
    }

    @Override
    public void flush(long lcId) {
        for (Target node : stripe(families.of(lcId))) {
            calls.run(node.nodeId(), () -> client.flush(node, lcId));
        }
    }

    /** Starts the flatten on every node of the stripe, then follows them until all are done. */
    @Override
    public void flatten(long lcId, FlattenProgress progress) {
        List<Target> stripe = stripe(families.of(lcId));
        for (Target node : stripe) {
            calls.run(node.nodeId(), () -> client.startFlatten(node, lcId));
        }
        while (true) {
            long done = 0;
            long total = 0;
            boolean running = false;
            for (Target node : stripe) {
                Job job = calls.call(node.nodeId(), () -> client.flattenJob(node, lcId));
                if (job.state() == Job.State.FAILED) {
                    throw new IllegalStateException(
                            "flatten of lc " + lcId + " failed on node " + node.nodeId() + ": " + job.error());
                }
                running |= job.state() == Job.State.RUNNING;
                done += job.done();
                total += job.total();
            }
            try {
                progress.pcsDone(done, total);
            } catch (RuntimeException stopped) {
                // the operation was cancelled: the nodes stop too, rather than finish unobserved
                cancelFlatten(stripe, lcId);
                throw stopped;
            }
            if (!running) {
                return;
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("flatten of lc " + lcId + " interrupted", interrupted);
            }
        }
    }

    private void cancelFlatten(List<Target> stripe, long lcId) {
        for (Target node : stripe) {
            try {
                calls.run(node.nodeId(), () -> client.cancelFlatten(node, lcId));
            } catch (RuntimeException unreachable) {
                // its flatten then finishes on its own: the lc reads the same either way
                log.warn(
                        "Could not stop the flatten of lc {} on node {}: {}",
                        lcId,
                        node.nodeId(),
                        unreachable.getMessage());
            }
        }
    }

    /**
     * Every lc the nodes hold; fails when a node does not answer, rather than look short. Nodes that
     * are down (no heartbeat for {@code sprig.api.nodes.down-after}) are left out: every lc is on
     * each node of its stripe, so only a family whose nodes are all down looks missing, which it is.
     */
    @Override
    public List<HeldLc> inventory() {
        Set<HeldLc> held = new LinkedHashSet<>();
        for (Node node : registry.all()) {
            if (registry.stateOf(node) == Node.State.DOWN) {
                continue;
            }
            Target target = target(node);
            held.addAll(calls.call(node.nodeId(), () -> client.list(target)));
        }
        return List.copyOf(held);
    }

    @Override
    public List<NodeAccess> placementOf(long lcId) {
        return registry.stripeOf(families.of(lcId), stripeWidth).stream()
                .map(registry::node)
                .map(node -> new NodeAccess(
                        node.nodeId(), node.httpEndpoint(), node.nbdHost(), node.nbdPort(), node.token()))
                .toList();
    }

    private List<Target> stripe(long familyId) {
        return registry.stripeOf(familyId, stripeWidth).stream()
                .map(registry::node)
                .map(RemoteBackend::target)
                .toList();
    }

    private static Target target(Node node) {
        return new Target(node.nodeId(), node.httpEndpoint(), node.token());
    }
}
