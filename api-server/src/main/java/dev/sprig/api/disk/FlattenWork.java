package dev.sprig.api.disk;

import dev.sprig.api.backend.StorageBackend;
import dev.sprig.api.error.SprigException;
import dev.sprig.api.lineage.Lc;
import dev.sprig.api.lineage.LcRepository;
import dev.sprig.api.lineage.Resource;
import dev.sprig.api.lineage.ResourceKind;
import dev.sprig.api.lineage.ResourceRepository;
import dev.sprig.api.lineage.UnusedAncestors;
import dev.sprig.api.operation.Operation;
import dev.sprig.api.operation.OperationProgress;
import dev.sprig.api.operation.OperationWork;
import java.util.List;
import java.util.Objects;
import org.springframework.stereotype.Component;

/**
 * The flatten of one disk: the backend copies into the disk's lc what it reads from its ancestors
 * and detaches it; then the metadata follows in one transaction (the lc loses its parent, the disk
 * is available again, the operation succeeded), and ancestors that nothing reads any more go: an
 * implicit snapshot left by cloning a disk, or an image or snapshot whose deferred delete waited on
 * this disk. Storage first, metadata after: a crash in between leaves a running operation whose
 * re-run finds the lc already detached and only commits.
 */
@Component
class FlattenWork implements OperationWork {

    private final ResourceRepository resources;
    private final LcRepository lcs;
    private final UnusedAncestors unusedAncestors;
    private final StorageBackend backend;

    FlattenWork(
            ResourceRepository resources, LcRepository lcs, UnusedAncestors unusedAncestors, StorageBackend backend) {
        this.resources = resources;
        this.lcs = lcs;
        this.unusedAncestors = unusedAncestors;
        this.backend = backend;
    }

    @Override
    public Operation.Kind kind() {
        return Operation.Kind.FLATTEN;
    }

    @Override
    public void perform(Operation operation, OperationProgress progress) {
        Resource disk = flattening(
                resources.find(operation.targetId(), ResourceKind.DISK).orElse(null), operation.targetId());
        backend.flatten(Objects.requireNonNull(disk.lcId()), progress::report);
    }

    @Override
    public Runnable succeed(Operation operation) {
        Resource disk = flattening(
                resources.lock(operation.targetId(), ResourceKind.DISK).orElse(null), operation.targetId());
        Lc lc = lcs.lock(Objects.requireNonNull(disk.lcId())).orElseThrow();
        lcs.detach(lc.lcId());
        resources.setState(disk.externId(), "available", null);
        List<Long> freed = unusedAncestors.remove(lc.parentLcId());
        return () -> freed.forEach(backend::delete);
    }

    @Override
    public void fail(Operation operation, String error) {
        resources
                .lock(operation.targetId(), ResourceKind.DISK)
                .filter(disk -> disk.state().equals(ResourceRepository.FLATTENING))
                .ifPresent(disk -> resources.setState(disk.externId(), "available", null));
    }

    /** The disk, which stays {@code flattening} (not snapshotted, cloned or deleted) until its flatten ends. */
    private static Resource flattening(@org.jspecify.annotations.Nullable Resource disk, String diskId) {
        if (disk == null) {
            throw SprigException.notFound("disk " + diskId);
        }
        if (!disk.state().equals(ResourceRepository.FLATTENING)) {
            throw SprigException.invalidState("disk " + diskId + " is " + disk.state() + ", not flattening");
        }
        return disk;
    }
}
