package dev.sprig.node.nbd;

import dev.sprig.nbd.server.NbdDisk;
import dev.sprig.nbd.server.NbdExports;
import dev.sprig.node.engine.ChunkEngine;
import dev.sprig.node.engine.LcInfo;
import dev.sprig.node.engine.UnknownLcException;
import dev.sprig.node.http.NodeToken;
import dev.sprig.node.metrics.DataPathMetrics;
import java.util.OptionalLong;
import org.jspecify.annotations.Nullable;

/**
 * Every lc of the engine is an export named {@code <token>/<lcId>}; frozen lcs are read-only. Not
 * listed. Besides base:allocation they serve qemu:allocation-depth, the lineage view of an lc.
 */
public final class LcExports implements NbdExports {

    private final ChunkEngine engine;
    private final ExportNames names;
    private final DataPathMetrics metrics;

    public LcExports(ChunkEngine engine, NodeToken token, DataPathMetrics metrics) {
        this.engine = engine;
        this.names = new ExportNames(token);
        this.metrics = metrics;
    }

    @Override
    public boolean servesAllocationDepth() {
        return true;
    }

    @Override
    public @Nullable NbdDisk open(String name) {
        OptionalLong lcId = names.lcOf(name);
        if (lcId.isEmpty()) {
            return null;
        }
        try {
            LcInfo info = engine.info(lcId.getAsLong());
            return new LcDisk(engine, info.lcId(), info.sizeBytes(), info.frozen(), metrics);
        } catch (UnknownLcException absent) {
            return null;
        }
    }
}
