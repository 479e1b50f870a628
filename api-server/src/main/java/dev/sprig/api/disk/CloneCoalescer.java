package dev.sprig.api.disk;

import dev.sprig.api.cache.ImageNotCached;
import dev.sprig.api.error.SprigException;
import dev.sprig.api.lineage.Labels;
import dev.sprig.api.lineage.Resource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * Turns concurrent single clones into bulk clones: requests that arrive while a clone is being
 * committed wait for it, then go together, one transaction and one backend push for all of those
 * of the same source, size and labels. A fleet launched by many clients one disk at a time then costs what
 * a bulk clone costs, instead of a commit and an fsync per disk. Alone, a request goes at once.
 *
 * <p>A batch is all or nothing, so when one of its names is taken (or asked for twice) its members
 * are retried one by one, and only the one whose name is taken is refused. Any other failure (the
 * source is gone or not available, the size is too small) is the same for every member.
 */
final class CloneCoalescer implements AutoCloseable {

    /** Clones {@code names} from one source in one transaction, all or none. */
    @FunctionalInterface
    interface Cloner {
        List<Resource> cloneAll(List<String> names, String sourceId, @Nullable Long sizeBytes, Labels labels);
    }

    /** The most single clones that go together; a bulk clone of this size takes a few milliseconds. */
    static final int MAX_TOGETHER = 256;

    private record Pending(
            String name,
            String sourceId,
            @Nullable Long sizeBytes,
            Labels labels,
            CompletableFuture<Resource> result) {}

    private record Group(String sourceId, @Nullable Long sizeBytes, Labels labels) {}

    private final Cloner cloner;
    private final BlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
    private final List<Thread> workers = new ArrayList<>();
    private volatile boolean closed;

    /** @param workers how many batches may be in flight at once (one commits while the next gathers) */
    CloneCoalescer(Cloner cloner, int workers) {
        this.cloner = cloner;
        for (int i = 1; i <= workers; i++) {
            Thread worker = new Thread(this::work, "clone-coalescer-" + i);
            worker.setDaemon(true);
            this.workers.add(worker);
            worker.start();
        }
    }

    /** Clones one disk, together with whatever else is being cloned from the same source right now. */
    Resource clone(String name, String sourceId, @Nullable Long sizeBytes, Labels labels) {
        if (closed) {
            throw new IllegalStateException("api-server is shutting down");
        }
        var pending = new Pending(name, sourceId, sizeBytes, labels, new CompletableFuture<>());
        queue.add(pending);
        try {
            return pending.result().join();
        } catch (CompletionException failed) {
            if (failed.getCause() instanceof RuntimeException cause) {
                throw cause;
            }
            throw failed;
        }
    }

    /** Requests waiting for a worker. */
    int waiting() {
        return queue.size();
    }

    private void work() {
        List<Pending> batch = new ArrayList<>();
        while (!closed || !queue.isEmpty()) {
            Pending first;
            try {
                first = queue.poll(100, TimeUnit.MILLISECONDS);
            } catch (InterruptedException stop) {
                Thread.currentThread().interrupt();
                return;
            }
            if (first == null) {
                continue;
            }
            batch.clear();
            batch.add(first);
            queue.drainTo(batch, MAX_TOGETHER - 1);
            Map<Group, List<Pending>> groups = batch.stream()
                    .collect(Collectors.groupingBy(
                            pending -> new Group(pending.sourceId(), pending.sizeBytes(), pending.labels()),
                            LinkedHashMap::new,
                            Collectors.toList()));
            try {
                groups.forEach(this::cloneGroup);
            } catch (Throwable unexpected) {
                // the worker goes on: one that died would leave every later request waiting for ever
                batch.forEach(pending -> pending.result().completeExceptionally(unexpected));
            }
        }
    }

    private void cloneGroup(Group group, List<Pending> members) {
        if (members.size() > 1) {
            try {
                Map<String, Resource> created = cloner
                        .cloneAll(
                                members.stream().map(Pending::name).toList(),
                                group.sourceId(),
                                group.sizeBytes(),
                                group.labels())
                        .stream()
                        .collect(Collectors.toMap(Resource::name, Function.identity()));
                members.forEach(member -> member.result().complete(Objects.requireNonNull(created.get(member.name()))));
                return;
            } catch (RuntimeException failure) {
                if (sharedByTheGroup(failure)) {
                    members.forEach(member -> member.result().completeExceptionally(failure));
                    return;
                }
                // fall through: one by one, so that only the member at fault (a taken name, a name
                // the database refuses) is refused
            }
        }
        for (Pending member : members) {
            try {
                member.result()
                        .complete(cloner.cloneAll(
                                        List.of(member.name()), group.sourceId(), group.sizeBytes(), group.labels())
                                .get(0));
            } catch (RuntimeException failure) {
                member.result().completeExceptionally(failure);
            }
        }
    }

    /**
     * Failures that come from the source, the size, the storage or the database, which every member
     * shares. A lost database connection must not be retried member by member: when the batch's
     * commit may have gone through, a retry would refuse each name as taken by its own disk.
     */
    private static boolean sharedByTheGroup(RuntimeException failure) {
        return failure instanceof ImageNotCached
                || failure instanceof SprigException.DatabaseUnavailable
                || failure instanceof SprigException.NotFound
                || failure instanceof SprigException.InvalidState
                || failure instanceof SprigException.InvalidArgument
                || failure instanceof SprigException.NodeUnavailable
                || failure instanceof SprigException.InsufficientNodes
                || failure instanceof SprigException.InsufficientReplicas;
    }

    /** Stops taking requests; those already queued are still cloned. */
    @Override
    public void close() {
        closed = true;
        for (Thread worker : workers) {
            try {
                worker.join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
