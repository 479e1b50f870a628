package dev.sprig.api.disk;

import dev.sprig.api.database.Transactions;
import dev.sprig.api.error.SprigException;
import dev.sprig.api.lineage.Lc;
import dev.sprig.api.lineage.LcRepository;
import dev.sprig.api.lineage.Resource;
import dev.sprig.api.lineage.ResourceKind;
import dev.sprig.api.lineage.ResourceRepository;
import dev.sprig.api.operation.Operation;
import dev.sprig.api.operation.OperationRepository;
import dev.sprig.api.operation.OperationRunner;
import dev.sprig.engine.ChunkEngine;
import java.util.Objects;
import org.springframework.stereotype.Service;

/**
 * Starts flattening a disk: the disk goes {@code flattening} and a running operation is recorded in
 * one transaction; once that has committed, {@link FlattenWork} runs it in the background. While it
 * runs the disk keeps serving I/O and its attachment, but is not snapshotted, cloned or deleted.
 */
@Service
public class Flattening {

    private final ResourceRepository resources;
    private final LcRepository lcs;
    private final OperationRepository operations;
    private final OperationRunner runner;
    private final Transactions tx;

    Flattening(
            ResourceRepository resources,
            LcRepository lcs,
            OperationRepository operations,
            OperationRunner runner,
            Transactions tx) {
        this.resources = resources;
        this.lcs = lcs;
        this.operations = operations;
        this.runner = runner;
        this.tx = tx;
    }

    private record Started(Operation operation, boolean toRun) {}

    /**
     * The operation flattening the disk: a new one, or the one already running on it. A disk that
     * reads from no ancestor gets an operation that has already succeeded.
     */
    public Operation flatten(String diskId) {
        Started started = Objects.requireNonNull(tx.execute(status -> {
            Resource disk = resources
                    .lock(diskId, ResourceKind.DISK)
                    .orElseThrow(() -> SprigException.notFound("disk " + diskId));
            if (disk.state().equals(ResourceRepository.FLATTENING)) {
                return new Started(
                        operations
                                .runningOn(diskId)
                                .orElseThrow(() -> new IllegalStateException(
                                        "disk " + diskId + " is flattening but no operation runs on it")),
                        false);
            }
            if (!disk.state().equals("available")) {
                throw SprigException.invalidState("disk " + diskId + " is " + disk.state() + ", not available");
            }
            Lc lc = lcs.find(Objects.requireNonNull(disk.lcId())).orElseThrow();
            long pcs = (lc.sizeBytes() + ChunkEngine.PC_SIZE - 1) / ChunkEngine.PC_SIZE;
            if (lc.parentLcId() == null) {
                return new Started(operations.completed(Operation.Kind.FLATTEN, diskId, pcs), false);
            }
            resources.setState(diskId, ResourceRepository.FLATTENING, null);
            return new Started(operations.start(Operation.Kind.FLATTEN, diskId, pcs), true);
        }));
        if (started.toRun()) {
            runner.submit(started.operation());
        }
        return started.operation();
    }
}
