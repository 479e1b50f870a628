package dev.sprig.api.operation;

import dev.sprig.api.error.SprigException;
import java.util.Optional;
import org.springframework.stereotype.Service;

/** Reading operations, and the refusal other features give while an operation works on a resource. */
@Service
public class Operations {

    private final OperationRepository operations;

    Operations(OperationRepository operations) {
        this.operations = operations;
    }

    public Operation get(String id) {
        return operations.find(id).orElseThrow(() -> SprigException.notFound("operation " + id));
    }

    public Optional<Operation> runningOn(String targetId) {
        return operations.runningOn(targetId);
    }

    /**
     * The answer to a change of a resource that an operation is working on, naming the operation so
     * that the client knows what to wait for.
     *
     * @param what the resource and its state, e.g. {@code disk disk-… is flattening}
     */
    public SprigException.InvalidState busy(String targetId, String what) {
        return SprigException.invalidState(runningOn(targetId)
                .map(running -> what + ": operation " + running.id() + " is running on it; retry once it has finished")
                .orElse(what + "; retry once that has finished"));
    }
}
