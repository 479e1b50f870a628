package dev.sprig.node.nbd;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.engine.LcInfo;
import dev.sprig.engine.UnknownLcException;
import dev.sprig.nbd.server.NbdDisk;
import dev.sprig.nbd.server.NbdExports;
import dev.sprig.node.access.DataAccess;
import dev.sprig.node.access.DataGrant;
import dev.sprig.node.access.DataTokens;
import dev.sprig.node.access.NodeToken;
import dev.sprig.node.access.ReplicaEpoch;
import dev.sprig.node.fence.Fences;
import dev.sprig.node.metrics.DataPathMetrics;
import dev.sprig.node.rebuild.LiveWrites;
import java.time.Clock;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Every lc of the engine is an export named {@code <dataToken>/<lcId>}, opened with the rights of
 * the token: read-only for a read token or a frozen lc. Not listed. Besides base:allocation they
 * serve qemu:allocation-depth, the lineage view of an lc. A replicated token (decision 011) whose
 * epoch is below its set's fence opens nothing, as if the export did not exist; one that opens is
 * held to its set on every request ({@link ReplicaScope}).
 */
public final class LcExports implements NbdExports {

    private final ChunkEngine engine;
    private final ExportNames names;
    private final Fences fences;
    private final DataPathMetrics metrics;
    private final LiveWrites writes;

    public LcExports(ChunkEngine engine, NodeToken token, Fences fences, DataPathMetrics metrics, LiveWrites writes) {
        this(engine, DataTokens.forNodeToken(token.value()), Clock.systemUTC(), fences, metrics, writes);
    }

    LcExports(
            ChunkEngine engine,
            DataTokens tokens,
            Clock clock,
            Fences fences,
            DataPathMetrics metrics,
            LiveWrites writes) {
        this.engine = engine;
        this.names = new ExportNames(tokens, clock);
        this.fences = fences;
        this.metrics = metrics;
        this.writes = writes;
    }

    @Override
    public boolean servesAllocationDepth() {
        return true;
    }

    @Override
    public @Nullable NbdDisk open(String name) {
        Optional<DataGrant> grant = names.grantOf(name);
        if (grant.isEmpty()) {
            return null;
        }
        ReplicaEpoch replica = grant.get().replica();
        if (replica != null && !fences.admits(replica)) {
            metrics.fenced();
            return null;
        }
        try {
            LcInfo info = engine.info(grant.get().lcId());
            boolean readOnly = info.frozen() || grant.get().access() == DataAccess.READ;
            ReplicaScope scope = replica == null ? null : new ReplicaScope(fences, replica, metrics);
            return new LcDisk(engine, writes, info.lcId(), info.sizeBytes(), readOnly, metrics, scope);
        } catch (UnknownLcException absent) {
            return null;
        }
    }
}
