package dev.sprig.node.http;

import dev.sprig.engine.ChunkEngine;
import dev.sprig.node.copy.RangeCopier;
import dev.sprig.node.rebuild.RebuildSource;
import dev.sprig.node.rebuild.RebuildSources;
import dev.sprig.nodeapi.CopySource;
import dev.sprig.nodeapi.RebuildSourceView;
import jakarta.validation.Valid;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/**
 * The rebuild source of an lc being rebuilt on this node (decision 012), set by api-server while the
 * node is a rebuilding member and removed when it is in sync:
 *
 * <pre>
 * curl -H "Authorization: Bearer $T" -X PUT -H "Content-Type: application/json" \
 *      -d '{"endpoint":"http://node-a:8081","token":"…","lcId":7}' "$NODE/v1/lcs/7/rebuildSource"
 * </pre>
 *
 * Kept in memory: a restarted node has none until api-server sets them again.
 */
@RestController
class RebuildSourceController {

    private final ChunkEngine engine;
    private final RebuildSources sources;

    RebuildSourceController(ChunkEngine engine, RebuildSources sources) {
        this.engine = engine;
        this.sources = sources;
    }

    /** The lc must exist here and the endpoint be a bare node endpoint; answers the source, without its token. */
    @PutMapping("/v1/lcs/{lcId}/rebuildSource")
    RebuildSourceView set(@PathVariable long lcId, @Valid @RequestBody CopySource source) {
        RangeCopier.nodeBase(source.endpoint());
        engine.info(lcId);
        RebuildSource set = new RebuildSource(source.endpoint(), source.token(), source.lcId());
        sources.set(lcId, set);
        return view(lcId, set);
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

    /** Removing a source the lc does not have succeeds: the caller's intent holds. */
    @DeleteMapping("/v1/lcs/{lcId}/rebuildSource")
    @ResponseStatus(HttpStatus.NO_CONTENT)
    void remove(@PathVariable long lcId) {
        sources.remove(lcId);
    }

    private static RebuildSourceView view(long lcId, RebuildSource source) {
        return new RebuildSourceView(lcId, source.endpoint(), source.lcId());
    }
}
