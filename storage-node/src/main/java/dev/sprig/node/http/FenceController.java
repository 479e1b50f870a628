package dev.sprig.node.http;

import dev.sprig.node.access.ReplicaEpoch;
import dev.sprig.node.fence.Fence;
import dev.sprig.node.fence.Fences;
import dev.sprig.node.fence.ReplicaSet;
import dev.sprig.nodeapi.FenceRequest;
import dev.sprig.nodeapi.FenceView;
import jakarta.validation.Valid;
import java.util.List;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PutMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RestController;

/** The fences of the replica sets this node is a member of, raised by api-server (decision 011). */
@RestController
class FenceController {

    private final Fences fences;

    FenceController(Fences fences) {
        this.fences = fences;
    }

    /** Answers once the fence is on disk; an epoch at or below the fence answers the fence as it is. */
    @PutMapping("/v1/fences/{familyId}/{column}")
    FenceView raise(@PathVariable long familyId, @PathVariable int column, @Valid @RequestBody FenceRequest request) {
        return view(fences.raise(set(familyId, column), request.epoch()));
    }

    @GetMapping("/v1/fences")
    List<FenceView> list() {
        return fences.all().stream().map(FenceController::view).toList();
    }

    private static ReplicaSet set(long familyId, int column) {
        if (familyId <= 0) {
            throw new RequestRejectedException(
                    HttpStatus.BAD_REQUEST, "INVALID_ARGUMENT", "familyId must be positive: " + familyId);
        }
        if (column < 0 || column >= ReplicaEpoch.MAX_COLUMNS) {
            throw new RequestRejectedException(
                    HttpStatus.BAD_REQUEST,
                    "INVALID_ARGUMENT",
                    "column must be between 0 and " + (ReplicaEpoch.MAX_COLUMNS - 1) + ": " + column);
        }
        return new ReplicaSet(familyId, column);
    }

    private static FenceView view(Fence fence) {
        return new FenceView(fence.set().familyId(), fence.set().column(), fence.epoch());
    }
}
