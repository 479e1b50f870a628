package dev.sprig.node.http;

import dev.sprig.node.copy.SegmentRepairer;
import dev.sprig.node.rebuild.RebuildSources;
import dev.sprig.nodeapi.RepairRequest;
import dev.sprig.nodeapi.RepairResult;
import jakarta.validation.Valid;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

/**
 * A replica scrub's repair of an lc's segments from another member's copy (issue 20), each replaced
 * only if neither side changed it since the comparison:
 *
 * <pre>
 * curl -H "Authorization: Bearer $T" -X POST -H "Content-Type: application/json" -d '{
 *        "source": {"endpoint": "http://node-b:8081", "token": "…", "lcId": 7},
 *        "segments": [{"segment": 17, "held": {"state": "DATA", "crcs": […64…]},
 *                      "wanted": {"state": "DATA", "crcs": […64…]}}]}' "$NODE/v1/lcs/7:repair"
 * </pre>
 */
@RestController
class RepairController {

    private final SegmentRepairer repairer;
    private final RebuildSources sources;

    RepairController(SegmentRepairer repairer, RebuildSources sources) {
        this.repairer = repairer;
        this.sources = sources;
    }

    @PostMapping("/v1/lcs/{lcId}:repair")
    RepairResult repair(@PathVariable long lcId, @Valid @RequestBody RepairRequest request) {
        if (sources.of(lcId) != null) {
            throw new RequestRejectedException(
                    HttpStatus.CONFLICT,
                    "REBUILDING",
                    "lc " + lcId
                            + " has a rebuild source on this node: its rebuild or catch-up heals it, not a repair");
        }
        return repairer.repair(lcId, request.source(), request.segments());
    }
}
