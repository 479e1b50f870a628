package dev.sprig.node.http;

import dev.sprig.engine.EngineStats;
import dev.sprig.engine.LcInfo;
import dev.sprig.engine.LcStats;
import dev.sprig.engine.NewLc;
import dev.sprig.engine.PcRuns;
import jakarta.validation.Valid;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Positive;
import jakarta.validation.constraints.PositiveOrZero;
import jakarta.validation.constraints.Size;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** The JSON shapes of the node API. */
final class NodeApiDtos {

    /** One request carries a whole bulk clone: thousands of lcs. */
    static final int MAX_BATCH = 10_000;

    private NodeApiDtos() {}

    record LcDefinitionJson(
            @NotNull @PositiveOrZero Long lcId,
            @Nullable @PositiveOrZero Long parentLcId,
            @NotNull @Positive Long sizeBytes,
            @Nullable Boolean frozen) {

        NewLc toNewLc() {
            return new NewLc(lcId, parentLcId, sizeBytes, Boolean.TRUE.equals(frozen));
        }
    }

    record BatchDefineRequest(
            @NotNull @Size(min = 1, max = MAX_BATCH) List<@NotNull @Valid LcDefinitionJson> lcs) {}

    record GrowRequest(@NotNull @Positive Long sizeBytes) {}

    /** A range of an lc on another node to copy here: its node's API and token, and the range. */
    record CopyFromRequest(
            @NotNull @Valid CopySource source,
            @NotNull @PositiveOrZero Long offset,
            @NotNull @Positive Long length) {}

    record CopySource(
            @NotNull String endpoint,
            @NotNull String token,
            @NotNull @PositiveOrZero Long lcId) {}

    record CopyFromResult(long bytesStored) {}

    /**
     * The PCs of an lc that the lc or its ancestors hold anything in, as runs of consecutive PC
     * indexes in order; every other PC reads as zeros.
     */
    record AllocationView(long pcSizeBytes, List<PcRun> pcRuns) {

        static AllocationView of(long pcSizeBytes, long[] pcs) {
            return new AllocationView(pcSizeBytes, PcRuns.of(pcs, PcRun::new));
        }
    }

    record PcRun(long firstPc, long pcCount) {}

    record LcSummary(long lcId, @Nullable Long parentLcId, long sizeBytes, boolean frozen) {
        static LcSummary of(LcInfo info) {
            return new LcSummary(
                    info.lcId(),
                    info.parentLcId().isPresent() ? info.parentLcId().getAsLong() : null,
                    info.sizeBytes(),
                    info.frozen());
        }
    }

    record LcView(
            long lcId,
            @Nullable Long parentLcId,
            long sizeBytes,
            boolean frozen,
            int children,
            long segmentsOwned,
            long zeroSegments,
            long pcsAllocated,
            long bytesStored) {

        static LcView of(LcInfo info, LcStats stats) {
            return new LcView(
                    info.lcId(),
                    info.parentLcId().isPresent() ? info.parentLcId().getAsLong() : null,
                    info.sizeBytes(),
                    info.frozen(),
                    info.children(),
                    stats.segmentsOwned(),
                    stats.zeroSegments(),
                    stats.pcsAllocated(),
                    stats.bytesStored());
        }
    }

    /**
     * @param capacityBytes size of the file system holding the data directory
     * @param freeBytes space left on it for this process
     * @param usedBytes bytes of segment data the engine stores
     * @param checkpointFailure why the engine's last checkpoint failed, null if it succeeded
     */
    record NodeView(
            long capacityBytes,
            long freeBytes,
            long usedBytes,
            long lcCount,
            long segmentsOwned,
            long pcsAllocated,
            long journalBytes,
            @Nullable String checkpointFailure) {

        static NodeView of(long capacity, long free, EngineStats stats) {
            return new NodeView(
                    capacity,
                    free,
                    stats.bytesStored(),
                    stats.lcs(),
                    stats.segmentsOwned(),
                    stats.pcsAllocated(),
                    stats.journalBytes(),
                    stats.checkpointFailure());
        }
    }
}
