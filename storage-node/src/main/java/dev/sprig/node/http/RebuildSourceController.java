package dev.sprig.node.http;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.node.copy.RangeCopier;
import dev.sprig.node.rebuild.CatchUp;
import dev.sprig.node.rebuild.LiveWrites;
import dev.sprig.node.rebuild.RebuildSource;
import dev.sprig.node.rebuild.RebuildSources;
import dev.sprig.nodeapi.CopySource;
import dev.sprig.nodeapi.FillFromResult;
import dev.sprig.nodeapi.RebuildSourceRequest;
import dev.sprig.nodeapi.RebuildSourceView;
import dev.sprig.nodeapi.SuspectSegments;
import dev.sprig.nodeapi.SuspectsMarked;
import jakarta.validation.Valid;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/**
 * The rebuild source of an lc being rebuilt on this node (decision 012), set by api-server while the
 * node is a rebuilding member and removed when it is in sync, and for an lc being caught up (its
 * replica returned after missing writes) the catch-up's suspect segments:
 *
 * <pre>
 * curl -H "Authorization: Bearer $T" -X PUT -H "Content-Type: application/json" \
 *      -d '{"endpoint":"http://node-a:8081","token":"…","lcId":7}' "$NODE/v1/lcs/7/rebuildSource"
 * curl … -X PUT -d '{…}' "$NODE/v1/lcs/7/rebuildSource?catchUpColumn=1&amp;columns=4"
 * curl … -X POST -d '{"segments":[17,18]}' "$NODE/v1/lcs/7/rebuildSource/suspects"
 * curl … -X POST "$NODE/v1/lcs/7/rebuildSource/suspects:fill?bytesPerSecond=50000000"
 * </pre>
 *
 * Kept in memory: a restarted node has none until api-server sets them again.
 */
@RestController
class RebuildSourceController {

    private final ChunkEngine engine;
    private final RebuildSources sources;
    private final LiveWrites writes;

    RebuildSourceController(ChunkEngine engine, RebuildSources sources, LiveWrites writes) {
        this.engine = engine;
        this.sources = sources;
        this.writes = writes;
    }

    /**
     * The lc must exist here and the endpoints be bare node endpoints; answers the (first) source,
     * without its token. With {@code column} (repeated) and {@code columns}: the sources serve the
     * PCs of those columns only. With {@code catchUpColumn} and {@code columns}: a catch-up of that
     * column, pending, from the first source.
     */
    @PutMapping("/v1/lcs/{lcId}/rebuildSource")
    RebuildSourceView set(
            @PathVariable long lcId,
            @Valid @RequestBody RebuildSourceRequest source,
            @RequestParam(required = false) @Nullable List<Integer> column,
            @RequestParam(required = false) @Nullable Integer catchUpColumn,
            @RequestParam(required = false) @Nullable Integer columns) {
        RangeCopier.nodeBase(source.endpoint());
        engine.info(lcId);
        RebuildSource set = new RebuildSource(source.endpoint(), source.token(), source.lcId());
        List<RebuildSource> inOrder = new ArrayList<>(List.of(set));
        for (CopySource alternate : source.alternates() == null ? List.<CopySource>of() : source.alternates()) {
            RangeCopier.nodeBase(alternate.endpoint());
            inOrder.add(new RebuildSource(alternate.endpoint(), alternate.token(), alternate.lcId()));
        }
        if (column != null) {
            sources.set(lcId, inOrder, rebuildColumns(column, catchUpColumn, columns));
        } else if (catchUpColumn == null && columns == null) {
            sources.set(lcId, inOrder, null);
        } else {
            if (catchUpColumn == null
                    || columns == null
                    || columns < 1
                    || catchUpColumn < 0
                    || catchUpColumn >= columns) {
                throw new RequestRejectedException(
                        HttpStatus.BAD_REQUEST,
                        "INVALID_ARGUMENT",
                        "a catch-up names its column (from 0) and the family's columns together; got catchUpColumn="
                                + catchUpColumn + ", columns=" + columns);
            }
            sources.setCatchUp(lcId, set, catchUpColumn, columns);
        }
        return view(lcId, set);
    }

    private static RebuildSources.Columns rebuildColumns(
            List<Integer> column, @Nullable Integer catchUpColumn, @Nullable Integer columns) {
        if (catchUpColumn != null || columns == null || column.isEmpty()) {
            throw new RequestRejectedException(
                    HttpStatus.BAD_REQUEST,
                    "INVALID_ARGUMENT",
                    "the columns a rebuild source serves come with the family's columns, and without a catch-up"
                            + " column; got column=" + column + ", columns=" + columns + ", catchUpColumn="
                            + catchUpColumn);
        }
        try {
            return new RebuildSources.Columns(Set.copyOf(column), columns);
        } catch (IllegalArgumentException outOfRange) {
            throw new RequestRejectedException(HttpStatus.BAD_REQUEST, "INVALID_ARGUMENT", outOfRange.getMessage());
        }
    }

    @GetMapping("/v1/lcs/{lcId}/rebuildSource")
    RebuildSourceView get(@PathVariable long lcId) {
        RebuildSource source = sources.of(lcId);
        if (source == null) {
            throw new RequestRejectedException(
                    HttpStatus.NOT_FOUND, "NO_REBUILD_SOURCE", "lc " + lcId + " has no rebuild source on this node");
        }
        return view(lcId, source);
    }

    /**
     * Removing a source the lc does not have succeeds: the caller's intent holds. With {@code
     * catchUpColumn}: only a catch-up of that column is removed (the end of one catch-up leaves the
     * next one's alone).
     */
    @DeleteMapping("/v1/lcs/{lcId}/rebuildSource")
    @ResponseStatus(HttpStatus.NO_CONTENT)
    void remove(@PathVariable long lcId, @RequestParam(required = false) @Nullable Integer catchUpColumn) {
        if (catchUpColumn == null) {
            sources.remove(lcId);
        } else {
            sources.removeCatchUp(lcId, catchUpColumn);
        }
    }

    @PostMapping("/v1/lcs/{lcId}/rebuildSource/suspects")
    SuspectsMarked markSuspects(@PathVariable long lcId, @Valid @RequestBody SuspectSegments segments) {
        CatchUp catchUp = catchUp(lcId);
        CatchUp.Marked marked = catchUp.markSuspects(segments.segments());
        return new SuspectsMarked(
                marked.marked(), marked.cleaned(), catchUp.suspects().size());
    }

    @PostMapping("/v1/lcs/{lcId}/rebuildSource/suspects:fill")
    FillFromResult fillSuspects(
            @PathVariable long lcId, @RequestParam(required = false) @Nullable Long bytesPerSecond) {
        catchUp(lcId);
        LiveWrites.Replaced replaced = writes.fillSuspects(lcId, bytesPerSecond == null ? 0 : bytesPerSecond);
        return new FillFromResult(replaced.segmentsReplaced(), replaced.segmentsSkipped(), replaced.bytesCopied());
    }

    private CatchUp catchUp(long lcId) {
        engine.info(lcId);
        CatchUp catchUp = sources.catchUpOf(lcId);
        if (catchUp == null) {
            throw new RequestRejectedException(
                    HttpStatus.CONFLICT, "NOT_CATCHING_UP", "lc " + lcId + " is not being caught up on this node");
        }
        return catchUp;
    }

    private RebuildSourceView view(long lcId, RebuildSource source) {
        CatchUp catchUp = sources.catchUpOf(lcId);
        if (catchUp == null) {
            return new RebuildSourceView(lcId, source.endpoint(), source.lcId(), null, false, 0, 0);
        }
        return new RebuildSourceView(
                lcId,
                source.endpoint(),
                source.lcId(),
                catchUp.column(),
                catchUp.pending(),
                catchUp.suspects().size(),
                catchUp.cleanedCount());
    }
}
