package dev.sprig.api.disk;

import dev.sprig.api.operation.Operation;
import dev.sprig.api.operation.OperationProgress;
import dev.sprig.api.operation.OperationWork;
import org.springframework.stereotype.Component;

/**
 * A bulk clone of an image that was not cached: waits for the image's import, then clones all of
 * its disks at once. Cloning is one transaction, so a run cut off by a crash either made every disk
 * or none, and the next run finds which.
 */
@Component
class CloneWork implements OperationWork {

    private final DiskService disks;
    private final CloneRequests requests;

    CloneWork(DiskService disks, CloneRequests requests) {
        this.disks = disks;
        this.requests = requests;
    }

    @Override
    public Operation.Kind kind() {
        return Operation.Kind.CLONE;
    }

    @Override
    public void perform(Operation operation, OperationProgress progress) {
        CloneRequest request = requests.find(operation.id())
                .orElseThrow(() -> new IllegalStateException("operation " + operation.id() + " has no clone request"));
        disks.cloneWaiting(operation.targetId(), request, progress);
        progress.report(request.count(), request.count());
    }

    @Override
    public Runnable succeed(Operation operation) {
        return () -> {};
    }

    @Override
    public void fail(Operation operation, String error) {}
}
