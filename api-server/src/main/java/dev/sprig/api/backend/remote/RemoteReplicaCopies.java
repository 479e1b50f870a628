package dev.sprig.api.backend.remote;

import dev.sprig.api.backend.ReplicaCopies;
import dev.sprig.api.backend.StorageBackend.HeldLc;
import dev.sprig.api.backend.StorageBackend.LcSpec;
import dev.sprig.api.error.SprigException;
import dev.sprig.api.node.NodeRegistry;
import dev.sprig.engine.ChunkEngine;
import dev.sprig.nodeapi.Job;
import dev.sprig.nodeapi.OwnedSegmentsView;
import dev.sprig.nodeapi.RebuildSourceView;
import dev.sprig.nodeapi.RepairResult;
import dev.sprig.nodeapi.SegmentContent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/** {@link ReplicaCopies} over the node API, every call through {@link NodeCalls}. */
final class RemoteReplicaCopies implements ReplicaCopies {

    /** The most PCs one listing of the node's covers. */
    static final long LISTING_PCS = 1024;
    /** How often a node's scrub is asked how far it got. */
    private static final Duration SCRUB_POLL = Duration.ofMillis(250);

    private final NodeRegistry registry;
    private final NodeClient client;
    private final NodeCalls calls;
    private final Duration retryAfter;

    RemoteReplicaCopies(NodeRegistry registry, NodeClient client, NodeCalls calls, Duration retryAfter) {
        this.registry = registry;
        this.client = client;
        this.calls = calls;
        this.retryAfter = retryAfter;
    }

    @Override
    public List<Long> define(String nodeId, List<LcSpec> lcs) {
        NodeClient.Target node = target(nodeId);
        Map<Long, HeldLc> held = new HashMap<>();
        calls.call(nodeId, () -> client.list(node)).forEach(lc -> held.put(lc.lcId(), lc));
        // freezes first: a member that comes back holds writable an lc frozen meanwhile, and a child
        // made since (the disk's new lc after a snapshot) may only be defined under a frozen parent
        for (LcSpec lc : lcs) {
            HeldLc there = held.get(lc.lcId());
            if (lc.frozen() && there != null && !there.frozen()) {
                calls.run(nodeId, () -> client.freeze(node, lc.lcId()));
            }
        }
        List<LcSpec> missing =
                lcs.stream().filter(lc -> !held.containsKey(lc.lcId())).toList();
        for (int from = 0; from < missing.size(); from += 1_000) {
            List<LcSpec> batch = missing.subList(from, Math.min(missing.size(), from + 1_000));
            calls.run(nodeId, () -> client.define(node, batch));
        }
        return missing.stream().map(LcSpec::lcId).toList();
    }

    @Override
    public List<HeldSegment> heldSegments(String nodeId, long lcId, long sizeBytes, int column, int columns) {
        return held(nodeId, lcId, sizeBytes, column, columns, true, false);
    }

    @Override
    public List<HeldSegment> heldSegmentStates(String nodeId, long lcId, long sizeBytes, int column, int columns) {
        return held(nodeId, lcId, sizeBytes, column, columns, false, false);
    }

    @Override
    public List<HeldSegment> heldSegmentDigests(String nodeId, long lcId, long sizeBytes, int column, int columns) {
        return held(nodeId, lcId, sizeBytes, column, columns, true, true);
    }

    /**
     * The column's PCs only are listed (the node skips the others), with their CRCs if {@code crcs}
     * (a digest of them if {@code digest}).
     */
    private List<HeldSegment> held(
            String nodeId, long lcId, long sizeBytes, int column, int columns, boolean crcs, boolean digest) {
        NodeClient.Target node = target(nodeId);
        long pcs = (sizeBytes + ChunkEngine.PC_SIZE - 1) / ChunkEngine.PC_SIZE;
        List<HeldSegment> held = new ArrayList<>();
        for (long first = 0; first < pcs; first += LISTING_PCS) {
            // the window's first PC of the column
            long from = first + Math.floorMod(column - first, (long) columns);
            long count = Math.min(first + LISTING_PCS, pcs) - from;
            if (count < 1) {
                continue;
            }
            OwnedSegmentsView listed =
                    calls.call(nodeId, () -> client.segments(node, lcId, from, count, columns, crcs, digest));
            for (OwnedSegmentsView.OwnedPcView pc : listed.pcs()) {
                if (pc.pc() % columns != column) {
                    continue;
                }
                for (OwnedSegmentsView.OwnedSegmentView segment : pc.segments()) {
                    held.add(new HeldSegment(
                            pc.pc(), segment.segment(), "ZERO".equals(segment.state()), segment.crcs()));
                }
            }
        }
        return held;
    }

    /**
     * A source that did not answer the target (the target's 502) is reported as that source being
     * unavailable, so that the caller can try another in-sync member.
     */
    @Override
    public long fill(
            String targetNodeId,
            String sourceNodeId,
            long lcId,
            long firstPc,
            int pcCount,
            int pcStride,
            long bytesPerSecond) {
        NodeClient.Target node = target(targetNodeId);
        NodeClient.Target source = target(sourceNodeId);
        try {
            return calls.call(
                    targetNodeId,
                    () -> client.fillFrom(node, lcId, source, lcId, firstPc, pcCount, pcStride, bytesPerSecond));
        } catch (NodeClient.Refused refused) {
            if (refused.status == 502) {
                throw SprigException.nodeUnavailable(sourceNodeId, retryAfter, refused.getMessage());
            }
            throw refused;
        }
    }

    @Override
    public void setRebuildSource(String targetNodeId, String sourceNodeId, long lcId) {
        NodeClient.Target node = target(targetNodeId);
        NodeClient.Target source = target(sourceNodeId);
        calls.run(targetNodeId, () -> client.setRebuildSource(node, lcId, source));
    }

    @Override
    public void setRebuildSources(
            String targetNodeId, List<String> sourceNodeIds, long lcId, Set<Integer> columns, int columnCount) {
        NodeClient.Target node = target(targetNodeId);
        List<NodeClient.Target> sources =
                sourceNodeIds.stream().map(this::target).toList();
        calls.run(targetNodeId, () -> client.setRebuildSources(node, lcId, sources, columns, columnCount));
    }

    @Override
    public void setCatchUpSource(String targetNodeId, String sourceNodeId, long lcId, int column, int columns) {
        NodeClient.Target node = target(targetNodeId);
        NodeClient.Target source = target(sourceNodeId);
        calls.run(targetNodeId, () -> client.setCatchUpSource(node, lcId, source, column, columns));
    }

    @Override
    public long markSuspects(String nodeId, long lcId, List<Long> segments) {
        NodeClient.Target node = target(nodeId);
        return calls.call(nodeId, () -> client.markSuspects(node, lcId, segments));
    }

    /** As {@link #fill}: a source that did not answer the target is reported as that source being unavailable. */
    @Override
    public long fillSuspects(String targetNodeId, String sourceNodeId, long lcId, long suspects, long bytesPerSecond) {
        NodeClient.Target node = target(targetNodeId);
        try {
            return calls.call(targetNodeId, () -> client.fillSuspects(node, lcId, suspects, bytesPerSecond));
        } catch (NodeClient.Refused refused) {
            if (refused.status == 502) {
                throw SprigException.nodeUnavailable(sourceNodeId, retryAfter, refused.getMessage());
            }
            throw refused;
        }
    }

    @Override
    public RebuildState rebuildState(String nodeId, long lcId) {
        NodeClient.Target node = target(nodeId);
        java.util.Optional<RebuildSourceView> view =
                calls.call(nodeId, () -> java.util.Optional.ofNullable(client.rebuildSource(node, lcId)));
        if (view.isEmpty()) {
            return RebuildState.NONE;
        }
        return view.get().catchUpColumn() == null ? RebuildState.PLAIN : RebuildState.CATCH_UP;
    }

    @Override
    public boolean hasRebuildSource(String nodeId, long lcId) {
        NodeClient.Target node = target(nodeId);
        return calls.call(nodeId, () -> client.hasRebuildSource(node, lcId));
    }

    @Override
    public void removeCatchUpSource(String nodeId, long lcId, int column) {
        NodeClient.Target node = target(nodeId);
        calls.run(nodeId, () -> client.removeCatchUpSource(node, lcId, column));
    }

    @Override
    public void removeRebuildSource(String nodeId, long lcId) {
        NodeClient.Target node = target(nodeId);
        calls.run(nodeId, () -> client.removeRebuildSource(node, lcId));
    }

    @Override
    public void delete(String nodeId, long lcId) {
        NodeClient.Target node = target(nodeId);
        calls.run(nodeId, () -> client.delete(node, lcId));
    }

    @Override
    public byte[] read(String nodeId, long lcId, long offset, int length) {
        NodeClient.Target node = target(nodeId);
        return calls.call(nodeId, () -> client.read(node, lcId, offset, length));
    }

    @Override
    public List<StoredSegment> damagedSegments(String nodeId, Duration within) {
        NodeClient.Target node = target(nodeId);
        Job job = calls.call(nodeId, () -> client.startScrub(node));
        long deadline = System.nanoTime() + within.toNanos();
        while (job.state() == Job.State.RUNNING) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the scrub of node " + nodeId + " did not finish within " + within);
            }
            try {
                Thread.sleep(SCRUB_POLL.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted waiting for the scrub of node " + nodeId, e);
            }
            job = calls.call(nodeId, () -> client.scrubJob(node));
        }
        if (job.state() == Job.State.FAILED) {
            throw new IllegalStateException("the scrub of node " + nodeId + " failed: " + job.error());
        }
        return job.damaged().stream()
                .map(d -> new StoredSegment(d.lcId(), d.pcIndex(), d.segment()))
                .toList();
    }

    @Override
    public Repaired repair(String targetNodeId, String sourceNodeId, long lcId, List<SegmentRepair> segments) {
        NodeClient.Target node = target(targetNodeId);
        NodeClient.Target source = target(sourceNodeId);
        List<dev.sprig.nodeapi.SegmentRepair> wire = segments.stream()
                .map(repair -> new dev.sprig.nodeapi.SegmentRepair(
                        repair.pc() * ChunkEngine.SEGMENTS_PER_PC + repair.segment(),
                        content(repair.held()),
                        content(repair.wanted())))
                .toList();
        RepairResult result = calls.call(targetNodeId, () -> client.repair(node, lcId, source, wire));
        return new Repaired(result.segmentsRepaired(), result.segmentsSkipped(), result.bytesCopied());
    }

    private static SegmentContent content(@Nullable HeldSegment held) {
        if (held == null) {
            return new SegmentContent("UNOWNED", List.of());
        }
        return new SegmentContent(held.zero() ? "ZERO" : "DATA", held.crcs());
    }

    private NodeClient.Target target(String nodeId) {
        return RemoteBackend.target(registry.node(nodeId));
    }
}
