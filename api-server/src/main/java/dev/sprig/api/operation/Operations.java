package dev.sprig.api.operation;

import dev.sprig.api.error.SprigException;
import dev.sprig.api.paging.PageCursor;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
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

    /**
     * A page of operations, newest first, of one kind, in one state and on one resource (its id:
     * {@code img-…}, {@code disk-…}, a replica set's) when those are given.
     */
    public OperationRepository.Page page(
            @Nullable String kind,
            @Nullable String state,
            @Nullable String targetId,
            @Nullable String pageToken,
            int pageSize) {
        return operations.page(
                kind == null ? null : named(kind, Operation.Kind.values(), "kind"),
                state == null ? null : named(state, Operation.State.values(), "state"),
                targetId,
                PageCursor.ofParameter(pageToken),
                pageSize);
    }

    private static <E extends Enum<E>> E named(String name, E[] values, String what) {
        for (E value : values) {
            if (value.name().toLowerCase(Locale.ROOT).equals(name)) {
                return value;
            }
        }
        throw SprigException.invalidArgument(what + " must be one of "
                + Arrays.stream(values)
                        .map(value -> value.name().toLowerCase(Locale.ROOT))
                        .collect(Collectors.joining(", "))
                + "; got '" + name + "'");
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
