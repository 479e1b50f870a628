package dev.sprig.agent.route;

import dev.sprig.nbd.server.NbdExport;
import dev.sprig.nbd.server.NbdExports;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Export names are disk extern_ids; opening one fetches the disk's attachment from api-server,
 * which takes (or renews) this agent's write lease on the disk. The lease is renewed while any
 * connection has the disk open, used or not, and ended ({@code DELETE .../attachment}) when the
 * last one closes: api-server refuses to revert a disk someone holds. NBD_OPT_LIST names the
 * caller's disks, the first {@value #LISTED} of them (nbdinfo --list and friends are for people
 * looking, not for inventories).
 */
public final class AttachedDisks implements NbdExports, AutoCloseable {

    static final int LISTED = 10_000;

    /** How often open disks are checked for an attachment due for renewal (a time comparison each). */
    static final Duration RENEWAL_CHECK = Duration.ofSeconds(1);

    private static final Logger log = LoggerFactory.getLogger(AttachedDisks.class);

    private final Attachments attachments;
    private final NodeChannels channels;
    private final Duration replicaWait;
    /**
     * Fetches attachments again when a node says the disk moved, reports failed members and ends
     * leases: HTTP calls, never on an event loop.
     */
    private final ExecutorService refresher = Executors.newCachedThreadPool(work -> {
        Thread thread = new Thread(work, "attachment-refresh");
        thread.setDaemon(true);
        return thread;
    });

    private final ScheduledExecutorService renewal = Executors.newSingleThreadScheduledExecutor(work -> {
        Thread thread = new Thread(work, "attachment-renewal");
        thread.setDaemon(true);
        return thread;
    });

    /** Per disk, the connections that have it open; its lease is ended when they drop to none. */
    private final Map<String, Connections> connections = new ConcurrentHashMap<>();

    private final Set<ProxiedDisk> open = ConcurrentHashMap.newKeySet();

    /** A disk's open connections, counted under its own lock, which the lease's HTTP calls hold too. */
    private static final class Connections {
        int count;
    }

    public AttachedDisks(Attachments attachments, NodeChannels channels) {
        this(attachments, channels, ProxiedDisk.REPLICA_WAIT);
    }

    /**
     * @param replicaWait how long a write to a disk with replica sets waits for api-server to drop a
     *     failed member (while it answers {@code INSUFFICIENT_REPLICAS}) before the client hears EIO
     */
    public AttachedDisks(Attachments attachments, NodeChannels channels, Duration replicaWait) {
        this.attachments = attachments;
        this.channels = channels;
        this.replicaWait = replicaWait;
        long every = RENEWAL_CHECK.toMillis();
        renewal.scheduleWithFixedDelay(
                () -> open.forEach(ProxiedDisk::renewIfDue), every, every, TimeUnit.MILLISECONDS);
    }

    /**
     * The attachment is fetched under the disk's lock, so that a lease ended for the disk's last
     * connection cannot land after a new connection took it again.
     */
    @Override
    public @Nullable NbdExport open(String exportName) throws IOException {
        Connections disk = connections.computeIfAbsent(exportName, name -> new Connections());
        Attachment attachment;
        synchronized (disk) {
            try {
                attachment = attachments.of(exportName);
            } catch (UnknownDiskException unknown) {
                if (disk.count == 0) {
                    connections.remove(exportName, disk); // names of no disk must not pile up here
                }
                return null;
            }
            disk.count++;
        }
        ProxiedDisk proxied =
                new ProxiedDisk(attachment, attachments, channels, refresher, replicaWait, this::released, disk);
        open.add(proxied);
        return proxied;
    }

    /** How many connections have the disk open now. */
    int connections(String externId) {
        Connections disk = connections.get(externId);
        if (disk == null) {
            return 0;
        }
        synchronized (disk) {
            return disk.count;
        }
    }

    private void released(ProxiedDisk proxied) {
        if (!open.remove(proxied)) {
            return;
        }
        String externId = proxied.attachment().externId();
        Connections disk = (Connections) proxied.leaseLock();
        Runnable detach = () -> {
            synchronized (disk) {
                if (--disk.count > 0) {
                    return;
                }
                try {
                    attachments.detach(externId);
                } catch (IOException | UnknownDiskException | RuntimeException failure) {
                    // the lease then lasts until its attachment's expiresAt
                    log.warn("{}: ending the write lease failed: {}", externId, failure.toString());
                }
            }
        };
        try {
            refresher.execute(detach);
        } catch (RejectedExecutionException closing) {
            detach.run(); // the agent is stopping: its connections close now, and their leases end with them
        }
    }

    @Override
    public List<String> list() throws IOException {
        return attachments.diskIds(LISTED);
    }

    /** Ends the leases of connections that closed just before (for a few seconds at most), then stops. */
    @Override
    public void close() {
        renewal.shutdownNow();
        refresher.shutdown();
        try {
            if (!refresher.awaitTermination(5, TimeUnit.SECONDS)) {
                refresher.shutdownNow();
            }
        } catch (InterruptedException interrupted) {
            refresher.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
