package dev.sprig.api.recovery;

import dev.sprig.api.operation.OperationView;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.tags.Tag;
import java.net.URI;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

@RestController
@Tag(name = "nodes")
class ReplicaScrubController {

    private final ReplicaScrubs scrubs;

    ReplicaScrubController(ReplicaScrubs scrubs) {
        this.scrubs = scrubs;
    }

    @PostMapping(path = "/v1/replica-sets:scrub", produces = MediaType.APPLICATION_JSON_VALUE)
    @ResponseStatus(HttpStatus.ACCEPTED) // what the contract documents; the ResponseEntity says the same
    @Operation(
            summary = "Scrub the replicas: find copies that rotted on disk or differ from their set, and repair them",
            description = "Admin key. Answered 202 with an operation (kind scrub, counted in replica sets) to poll at"
                    + " its Location; one runs at a time, and asking while one runs answers it. Every live node"
                    + " checks its segments against their CRCs, then the in-sync members of each replica set"
                    + " compare theirs; a copy that rotted, or differs from what a strict majority holds, is"
                    + " repaired from an intact member without the disk's clients noticing. A segment with no"
                    + " majority or no intact copy is left as it is and logged for an operator. The leader also"
                    + " runs one every sprig.api.scrub.interval. Node views count the repairs (repairedSegments),"
                    + " and so does sprig_replica_repairs. 409 INVALID_STATE on the embedded backend (one copy).")
    ResponseEntity<OperationView> scrub() {
        OperationView operation = OperationView.of(scrubs.start());
        return ResponseEntity.accepted()
                .location(URI.create("/v1/operations/" + operation.id()))
                .body(operation);
    }
}
